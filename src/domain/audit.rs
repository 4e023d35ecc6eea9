//! What the audit log records, and how each recorded action ended.

use super::text_enum::text_enum;

text_enum! {
    /// What an audit log entry records.
    AuditAction as "audit action" {
        Fetch => "Fetch",
        Validate => "Validate",
        Send => "Send",
        Resend => "Resend",
        Label => "Label",
        Webhook => "Webhook",
        MasterData => "Master Data",
        Delete => "Delete",
        /// A sent order's tracking number, tracking URL and identifiers written to Linnworks
        /// by a later send cycle, after the write-back right after the send failed or was cut off.
        WriteBack => "Write Back",
    }
}

text_enum! {
    /// How an audited action ended.
    AuditOutcome as "audit outcome" {
        Success => "Success",
        Failure => "Failure",
        Skipped => "Skipped",
    }
}
