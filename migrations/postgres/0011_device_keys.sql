-- An app device may hold a key (RFC 9449 DPoP): the RFC 7638 SHA-256 thumbprint of the public
-- key it gave at enrolment. A device with one must prove possession on every device-API call;
-- NULL: the device answers with its secret alone (`approvals.allow_secret_devices`).
ALTER TABLE devices ADD COLUMN jkt TEXT;
