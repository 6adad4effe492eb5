"""Every area's tables on SQLModel.metadata, so autogenerate (and the schema test) sees the
whole schema and proposes no drops. An area with tables adds its models module here."""

import mailbot.calendar.models
import mailbot.campaigns.models
import mailbot.conversation.complaints
import mailbot.hostile.models
import mailbot.imap.models
import mailbot.models
import mailbot.moderation.models
import mailbot.privacy.models
import mailbot.scale.models
import mailbot.threads.models  # noqa: F401
