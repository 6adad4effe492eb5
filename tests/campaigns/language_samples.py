"""Texts in 20 languages written for the language tests and bench: a long one (20+ words)
and a short one (a few words) each, on what a consultation hears about."""

from __future__ import annotations

# language code -> (long text, short text)
SAMPLES: dict[str, tuple[str, str]] = {
    "en": (
        "I am writing to ask the working group to publish every draft of the report before "
        "the meeting, so that people who live far from the capital can read it and send "
        "their comments in time.",
        "Thanks for listening",
    ),
    "fr": (
        "Je vous écris pour demander au groupe de travail de publier chaque version du "
        "rapport avant la réunion, afin que les personnes qui habitent loin de la capitale "
        "puissent le lire et envoyer leurs remarques à temps.",
        "Merci beaucoup",
    ),
    "es": (
        "Les escribo para pedir al grupo de trabajo que publique cada borrador del informe "
        "antes de la reunión, para que las personas que viven lejos de la capital puedan "
        "leerlo y enviar sus comentarios a tiempo.",
        "Muchas gracias",
    ),
    "de": (
        "Ich schreibe Ihnen, um die Arbeitsgruppe zu bitten, jeden Entwurf des Berichts vor "
        "der Sitzung zu veröffentlichen, damit auch Menschen, die weit von der Hauptstadt "
        "entfernt wohnen, ihn lesen und rechtzeitig Stellung nehmen können.",
        "Vielen Dank",
    ),
    "pt": (
        "Escrevo para pedir ao grupo de trabalho que publique cada versão do relatório antes "
        "da reunião, para que as pessoas que moram longe da capital possam lê-lo e enviar os "
        "seus comentários a tempo.",
        "Muito obrigado",
    ),
    "it": (
        "Vi scrivo per chiedere al gruppo di lavoro di pubblicare ogni bozza della relazione "
        "prima della riunione, in modo che le persone che abitano lontano dalla capitale "
        "possano leggerla e inviare le loro osservazioni in tempo.",
        "Grazie mille",
    ),
    "nl": (
        "Ik schrijf u om de werkgroep te vragen elke versie van het rapport vóór de "
        "vergadering te publiceren, zodat mensen die ver van de hoofdstad wonen het kunnen "
        "lezen en hun opmerkingen op tijd kunnen insturen.",
        "Hartelijk dank",
    ),
    "pl": (
        "Piszę, aby poprosić grupę roboczą o opublikowanie każdej wersji raportu przed "
        "spotkaniem, tak aby osoby mieszkające daleko od stolicy mogły go przeczytać i na "
        "czas przesłać swoje uwagi.",
        "Dziękuję bardzo",
    ),
    "ru": (
        "Я пишу, чтобы попросить рабочую группу публиковать каждый проект доклада до "
        "заседания, чтобы люди, которые живут далеко от столицы, могли его прочитать и "
        "вовремя отправить свои замечания.",
        "Большое спасибо",
    ),
    "uk": (
        "Я пишу, щоб попросити робочу групу оприлюднювати кожен проєкт звіту до засідання, "
        "щоб люди, які живуть далеко від столиці, могли його прочитати і вчасно надіслати "
        "свої зауваження.",
        "Щиро дякую",
    ),
    "ar": (
        "أكتب إليكم لأطلب من فريق العمل أن ينشر كل مسودة من التقرير قبل الاجتماع، حتى يتمكن "
        "الناس الذين يعيشون بعيدا عن العاصمة من قراءتها وإرسال ملاحظاتهم في الوقت المناسب "
        "دون أي تأخير.",
        "شكرا جزيلا",
    ),
    "he": (
        "אני כותב כדי לבקש מקבוצת העבודה לפרסם כל טיוטה של הדוח לפני הישיבה, כדי שאנשים "
        "שגרים רחוק מהבירה יוכלו לקרוא אותה ולשלוח את ההערות שלהם בזמן ובלי עיכוב מיותר.",
        "תודה רבה",
    ),
    "zh": (
        "我写信是想请工作组在会议之前公开报告的每一份草稿，这样住在离首都很远的地方的人们"
        "也能够阅读它，并且及时把他们的意见和建议寄给你们。我们希望这个过程更加透明。",
        "非常感谢",
    ),
    "ja": (
        "作業部会に対して、会議の前に報告書のすべての草案を公開するようお願いするために"
        "書いています。そうすれば、首都から遠く離れた場所に住んでいる人々もそれを読み、"
        "意見を期限内に送ることができます。",
        "よろしくお願いします",
    ),
    "ko": (
        "회의 전에 보고서의 모든 초안을 공개해 달라고 작업반에 요청하기 위해 이 글을 씁니다. "
        "그래야 수도에서 멀리 떨어진 곳에 사는 사람들도 그것을 읽고 제때에 의견을 보낼 수 "
        "있을 것입니다.",
        "감사합니다",
    ),
    "hi": (
        "मैं यह पत्र कार्य समूह से अनुरोध करने के लिए लिख रहा हूँ कि वह बैठक से पहले रिपोर्ट का "
        "हर मसौदा प्रकाशित करे, ताकि राजधानी से दूर रहने वाले लोग भी उसे पढ़ सकें और समय पर "
        "अपनी टिप्पणियाँ भेज सकें।",
        "बहुत धन्यवाद",
    ),
    "sw": (
        "Ninaandika kuomba kikundi cha kazi kuchapisha kila rasimu ya ripoti kabla ya mkutano, "
        "ili watu wanaoishi mbali na mji mkuu waweze kuisoma na kutuma maoni yao kwa wakati "
        "unaofaa bila kuchelewa.",
        "Asante sana",
    ),
    "tr": (
        "Çalışma grubundan raporun her taslağını toplantıdan önce yayımlamasını istemek için "
        "yazıyorum, böylece başkentten uzakta yaşayan insanlar da onu okuyabilir ve "
        "görüşlerini zamanında gönderebilir. Bu konuda yardımınızı bekliyoruz.",
        "Çok teşekkürler",
    ),
    "el": (
        "Σας γράφω για να ζητήσω από την ομάδα εργασίας να δημοσιεύει κάθε σχέδιο της έκθεσης "
        "πριν από τη συνεδρίαση, ώστε οι άνθρωποι που ζουν μακριά από την πρωτεύουσα να "
        "μπορούν να το διαβάσουν και να στείλουν εγκαίρως τα σχόλιά τους.",
        "Ευχαριστώ πολύ",
    ),
    "sv": (
        "Jag skriver för att be arbetsgruppen att publicera varje utkast av rapporten före "
        "mötet, så att människor som bor långt från huvudstaden kan läsa det och skicka sina "
        "synpunkter i tid.",
        "Tack så mycket",
    ),
    "vi": (
        "Tôi viết thư này để đề nghị nhóm công tác công bố mọi bản dự thảo của báo cáo trước "
        "cuộc họp, để những người sống xa thủ đô cũng có thể đọc và gửi ý kiến của họ đúng "
        "thời hạn.",
        "Cảm ơn nhiều",
    ),
    "id": (
        "Saya menulis untuk meminta kelompok kerja menerbitkan setiap rancangan laporan "
        "sebelum rapat, agar orang-orang yang tinggal jauh dari ibu kota dapat membacanya dan "
        "mengirimkan tanggapan mereka tepat waktu.",
        "Terima kasih banyak",
    ),
}
