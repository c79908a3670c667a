"""The use cases (``Biometrix``): enroll, verify and identify; its operators, the models and policy that decide,
and administration. The only way into the enrollment store."""

from biometrix.service.access import SESSION_TTL_S, AccessMixin
from biometrix.service.admin import AdminMixin, check_audit_unattended, restore_db, setup_postgres
from biometrix.service.inputs import (
    DEFLATED_STROKES_MEDIA_TYPE,
    INK_CROP_MEDIA_TYPE,
    PEN_SUFFIXES,
    STROKES_MEDIA_TYPE,
    FaceInput,
    SignatureInput,
    capture_of,
    is_strokes,
    kept_sample,
    load_face,
    load_signature,
    signature_capture,
    stored_model_input,
    stored_sample_input,
)
from biometrix.service.liveness import LIVENESS_MODES, LivenessCheck
from biometrix.service.service import Biometrix, RetemplateReport, discard_unused_database
from biometrix.service.trust import PIN_SLOTS, POLICY_KEY, DecisionRule, ModelPin, TrustMixin

__all__ = [
    "DEFLATED_STROKES_MEDIA_TYPE",
    "INK_CROP_MEDIA_TYPE",
    "LIVENESS_MODES",
    "PEN_SUFFIXES",
    "PIN_SLOTS",
    "POLICY_KEY",
    "SESSION_TTL_S",
    "STROKES_MEDIA_TYPE",
    "AccessMixin",
    "AdminMixin",
    "Biometrix",
    "DecisionRule",
    "FaceInput",
    "LivenessCheck",
    "ModelPin",
    "RetemplateReport",
    "SignatureInput",
    "TrustMixin",
    "capture_of",
    "check_audit_unattended",
    "discard_unused_database",
    "is_strokes",
    "kept_sample",
    "load_face",
    "load_signature",
    "restore_db",
    "setup_postgres",
    "signature_capture",
    "stored_model_input",
    "stored_sample_input",
]
