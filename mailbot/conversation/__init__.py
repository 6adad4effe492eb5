"""The conversation area (issue 18): what each message a person sends means.

List copies are contributions (never answered on the list), complaints are kept apart,
replies to the bot's own mail are read as replies, GET and INDEX serve the published text,
and every text is split into the author's new words, the quote and the signature.
`mailbot.conversation.setup` registers the area (listed in `pipeline.EXTENSIONS`).
"""
