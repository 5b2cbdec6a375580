"""The bodies' kinds, channels and ways of syncing as people read them: stable codes (models.KINDS, CHANNELS,
SYNC_VIA), Chinese names first."""
from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "property": _l("物业服务企业"),
    "utility": _l("公用事业单位"),
    "department": _l("职能部门"),
    "hotline": _l("热线"),
}

CHANNEL_LABELS = {
    "open311": _l("Open311 接口"),
    "webhook": _l("Webhook 推送"),
    "email": _l("电子邮件"),
}

SYNC_LABELS = {
    "updates": _l("逐条更新（默认）"),
    "requests": _l("请求状态（对方无更新接口时）"),
}
