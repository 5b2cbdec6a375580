"""The bodies' kinds and channels as people read them: stable codes (models.KINDS, CHANNELS), Chinese names first."""
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
