//! The one error type of both API clients. It names the service and the call that
//! failed, carries the HTTP status and the remote's own message and code, and never a
//! secret: no request bodies, no headers, no URLs (a URL may carry a query secret).

use std::fmt;
use std::time::Duration;

/// How a remote call failed; decides whether it may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteErrorKind {
    /// The remote answered with a non-success HTTP status.
    Status,
    /// No complete reply within the timeout; the request may or may not have been applied.
    Timeout,
    /// No connection could be made: nothing was sent.
    Connect,
    /// The connection broke after the request was sent: it may have been applied.
    Transport,
    /// A success status, but a reply this client cannot understand.
    InvalidReply,
    /// A success status whose body reports a failure (an error envelope).
    Rejected,
    /// The request could not be built (a bad base URL, for instance). Never retried.
    Request,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteError {
    /// The remote service: "Linnworks" or "Stream".
    pub service: &'static str,
    /// The call that failed, e.g. "Orders/GetOpenOrders".
    pub call: String,
    pub kind: RemoteErrorKind,
    /// The HTTP status, when the remote answered.
    pub status: Option<u16>,
    /// The remote's error code, when it gives one.
    pub code: Option<String>,
    /// The remote's message, or what went wrong on the way.
    pub message: String,
    /// What the remote asked for in `Retry-After`, if anything.
    pub retry_after: Option<Duration>,
    /// Attempts made, retries included (1 when it failed at once).
    pub attempts: u32,
}

/// Longest remote message kept: enough to diagnose, bounded for logs and status.
const MAX_MESSAGE_CHARS: usize = 500;

impl RemoteError {
    fn new(
        service: &'static str,
        call: impl Into<String>,
        kind: RemoteErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            service,
            call: call.into(),
            kind,
            status: None,
            code: None,
            message: truncate(message.into()),
            retry_after: None,
            attempts: 1,
        }
    }

    /// A non-success HTTP reply, with the message and code the client parsed from its body.
    pub fn status(
        service: &'static str,
        call: impl Into<String>,
        status: u16,
        message: impl Into<String>,
        code: Option<String>,
    ) -> Self {
        let mut e = Self::new(service, call, RemoteErrorKind::Status, message);
        e.status = Some(status);
        e.code = code.map(truncate);
        e
    }

    /// A success reply whose body says the call failed.
    pub fn rejected(
        service: &'static str,
        call: impl Into<String>,
        message: impl Into<String>,
        code: Option<String>,
    ) -> Self {
        let mut e = Self::new(service, call, RemoteErrorKind::Rejected, message);
        e.code = code.map(truncate);
        e
    }

    /// A reply that does not have the shape the client expects.
    pub fn invalid_reply(
        service: &'static str,
        call: impl Into<String>,
        status: Option<u16>,
        detail: impl Into<String>,
    ) -> Self {
        let mut e = Self::new(service, call, RemoteErrorKind::InvalidReply, detail);
        e.status = status;
        e
    }

    /// A request that could not be built or sent for a local reason.
    pub fn request(
        service: &'static str,
        call: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(service, call, RemoteErrorKind::Request, detail)
    }

    /// A transport failure from reqwest, classified. The URL is stripped from the text.
    pub fn from_reqwest(
        service: &'static str,
        call: impl Into<String>,
        err: reqwest::Error,
    ) -> Self {
        let status = err.status().map(|s| s.as_u16());
        let kind = if err.is_timeout() {
            RemoteErrorKind::Timeout
        } else if err.is_connect() {
            RemoteErrorKind::Connect
        } else if err.is_builder() {
            RemoteErrorKind::Request
        } else if err.is_decode() {
            RemoteErrorKind::InvalidReply
        } else {
            RemoteErrorKind::Transport
        };
        let err = err.without_url();
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        let mut e = Self::new(service, call, kind, text);
        e.status = status;
        e
    }

    /// Replaces every occurrence of the given secrets in the message and code with `***`,
    /// for remotes that echo what they were sent.
    #[must_use]
    pub fn redact(mut self, secrets: &[&str]) -> Self {
        for secret in secrets.iter().filter(|s| s.len() >= 4) {
            self.message = self.message.replace(secret, "***");
            if let Some(code) = &self.code {
                self.code = Some(code.replace(secret, "***"));
            }
        }
        self
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// True for a 404 reply: lets callers tell "not there" from other failures.
    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    /// True for a 401 reply: an expired or refused session or token.
    pub fn is_unauthorized(&self) -> bool {
        self.status == Some(401)
    }

    /// Whether the remote was down or overloaded rather than refusing this request: no
    /// connection, a timeout, a broken connection, 408, 429 or any 5xx. The same request
    /// may well succeed later, so it must not count against an order's retries. Everything
    /// else (validation, other 4xx, an error envelope, a reply we cannot read) is permanent.
    pub fn is_transient(&self) -> bool {
        match self.kind {
            RemoteErrorKind::Timeout | RemoteErrorKind::Connect | RemoteErrorKind::Transport => {
                true
            }
            RemoteErrorKind::Status => {
                matches!(self.status, Some(s) if s >= 500 || s == 408 || s == 429)
            }
            RemoteErrorKind::InvalidReply
            | RemoteErrorKind::Rejected
            | RemoteErrorKind::Request => false,
        }
    }
}

fn truncate(mut s: String) -> String {
    // A remote's message is stored and audited; PostgreSQL refuses NUL in text.
    if s.contains('\0') {
        s = s.replace('\0', "");
    }
    if let Some((idx, _)) = s.char_indices().nth(MAX_MESSAGE_CHARS) {
        s.truncate(idx);
        s.push('…');
    }
    s
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} failed: ", self.service, self.call)?;
        match (self.kind, self.status) {
            (_, Some(status)) => write!(f, "HTTP {status}")?,
            (RemoteErrorKind::Timeout, None) => f.write_str("timed out")?,
            (RemoteErrorKind::Connect, None) => f.write_str("could not connect")?,
            (RemoteErrorKind::Transport, None) => f.write_str("connection failed")?,
            (RemoteErrorKind::InvalidReply, None) => f.write_str("invalid reply")?,
            (RemoteErrorKind::Rejected, None) => f.write_str("rejected")?,
            (RemoteErrorKind::Request, None) => f.write_str("bad request")?,
            (RemoteErrorKind::Status, None) => f.write_str("error status")?,
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for RemoteError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_service_call_status_message_and_code() {
        let e = RemoteError::status(
            "Stream",
            "orders/create",
            422,
            "postcode invalid",
            Some("E12".into()),
        );
        assert_eq!(
            e.to_string(),
            "Stream orders/create failed: HTTP 422: postcode invalid (code E12)"
        );
    }

    #[test]
    fn redact_removes_echoed_secrets() {
        let e = RemoteError::status(
            "Linnworks",
            "Auth/AuthorizeByApplication",
            400,
            "token 1234-abcd is not valid",
            None,
        )
        .redact(&["1234-abcd", ""]);
        assert_eq!(e.message, "token *** is not valid");
        assert!(!e.to_string().contains("1234-abcd"));
    }

    #[test]
    fn transient_failures_are_outages_not_refusals() {
        let status = |s| RemoteError::status("Stream", "x", s, "", None);
        for s in [500, 502, 503, 504, 408, 429] {
            assert!(status(s).is_transient(), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422] {
            assert!(!status(s).is_transient(), "{s}");
        }
        let kind = |kind| RemoteError {
            kind,
            status: None,
            ..status(0)
        };
        assert!(kind(RemoteErrorKind::Connect).is_transient());
        assert!(kind(RemoteErrorKind::Timeout).is_transient());
        assert!(kind(RemoteErrorKind::Transport).is_transient());
        assert!(
            !RemoteError::rejected("Stream", "x", "bad postcode", Some("E1".into())).is_transient()
        );
        assert!(!kind(RemoteErrorKind::InvalidReply).is_transient());
    }

    #[test]
    fn messages_never_carry_nul() {
        let e = RemoteError::status("Stream", "x", 400, "bad\0value", None);
        assert_eq!(e.message, "badvalue");
    }

    #[test]
    fn long_messages_are_bounded() {
        let e = RemoteError::status("Stream", "x", 500, "é".repeat(2000), None);
        assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
