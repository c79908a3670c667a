"""The use cases (``Biometrix``): enroll, verify and identify; its operators, the models and policy that decide,
and administration. The only way into the enrollment store."""

from biometrix.service.access import SESSION_TTL_S, AccessMixin
from biometrix.service.admin import AdminMixin, check_audit_unattended, restore_db
from biometrix.service.inputs import (
    PEN_SUFFIXES,
    STROKES_MEDIA_TYPE,
    FaceInput,
    SignatureInput,
    capture_of,
    load_face,
    load_signature,
    signature_capture,
    stored_sample_input,
)
from biometrix.service.liveness import LIVENESS_MODES, LivenessCheck
from biometrix.service.service import Biometrix, RetemplateReport, discard_unused_database
from biometrix.service.trust import PIN_SLOTS, POLICY_KEY, ModelPin, TrustMixin

__all__ = [
    "LIVENESS_MODES",
    "PEN_SUFFIXES",
    "PIN_SLOTS",
    "POLICY_KEY",
    "SESSION_TTL_S",
    "STROKES_MEDIA_TYPE",
    "AccessMixin",
    "AdminMixin",
    "Biometrix",
    "FaceInput",
    "LivenessCheck",
    "ModelPin",
    "RetemplateReport",
    "SignatureInput",
    "TrustMixin",
    "capture_of",
    "check_audit_unattended",
    "discard_unused_database",
    "load_face",
    "load_signature",
    "restore_db",
    "signature_capture",
    "stored_sample_input",
]
