//! What an HTTP caller may be told about a store failure. Driver and database text (sqlx
//! messages, database and host names) goes to the log only; the caller gets the class:
//! its own input the database refuses (4xx, do not retry), the database unreachable or
//! overloaded (503 with `Retry-After`, retry later), or an internal error.

use crate::store::StoreError;

/// Seconds a caller is asked to wait before retrying while the database is unavailable.
pub const RETRY_AFTER_SECONDS: u32 = 30;

/// The class of a store failure, as an HTTP surface answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreFailure {
    /// The request carried text or a value the database refuses (a NUL character, an
    /// invalid encoding, a number out of range): the same request will always fail.
    Input,
    /// The database is unreachable, restarting or out of connections: try again later.
    Unavailable,
    /// Anything else: a fault of this process or its database, not of the caller.
    Internal,
}

impl StoreFailure {
    pub fn of(e: &StoreError) -> Self {
        match e {
            StoreError::Database(db) => classify_sqlx(db),
            StoreError::InvalidArgument(_) => Self::Input,
            StoreError::Contended { .. } => Self::Unavailable,
            _ => Self::Internal,
        }
    }

    /// What the caller is told, free of driver text.
    pub fn message(self) -> &'static str {
        match self {
            Self::Input => {
                "the request holds text the database cannot store (e.g. a NUL character, \
                 U+0000); remove it and send the request again"
            }
            Self::Unavailable => {
                "the queue database is unavailable at the moment; try again shortly"
            }
            Self::Internal => "an internal error occurred; the process log has the details",
        }
    }
}

/// The path of the first NUL character (U+0000) in a JSON document (`""` for a top-level
/// string), or `None`: text neither store keeps (PostgreSQL refuses it outright), so a
/// request carrying one is refused before it reaches the store.
pub fn nul_path(value: &serde_json::Value) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &mut String) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(fields) => fields.iter().any(|(k, v)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k.replace('\0', "\\u0000"));
                let found = k.contains('\0') || walk(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).then_some(path)
}

fn classify_sqlx(e: &sqlx::Error) -> StoreFailure {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        // A server hanging up mid-handshake (restarting, or a proxy in front of a stopped
        // one) reads as a protocol violation.
        | sqlx::Error::Protocol(_) => StoreFailure::Unavailable,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient
            // resources, 57P0x the server shutting down or restarting, 40 serialization
            // failure or deadlock (the same call succeeds later); 28 (login refused) and
            // 3D000 (no such database) are the database's configuration, not the caller's
            // request, and clear up without the caller doing anything.
            Some(code)
                if code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P")
                    || code.starts_with("40")
                    || code.starts_with("28")
                    || code == "3D000" =>
            {
                StoreFailure::Unavailable
            }
            // 22 data exception: untranslatable characters (NUL), bad encodings, values
            // out of range: the input, not the database, is at fault.
            Some(code) if code.starts_with("22") => StoreFailure::Input,
            // SQLite: 5 SQLITE_BUSY, 6 SQLITE_LOCKED (and their extended codes).
            Some(code) if sqlite_code(code).is_some_and(|c| c & 0xff == 5 || c & 0xff == 6) => {
                StoreFailure::Unavailable
            }
            _ => StoreFailure::Internal,
        },
        _ => StoreFailure::Internal,
    }
}

fn sqlite_code(code: &str) -> Option<u32> {
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable_and_say_nothing_of_the_driver() {
        let e = StoreError::Database(sqlx::Error::PoolTimedOut);
        assert_eq!(StoreFailure::of(&e), StoreFailure::Unavailable);
        let io = StoreError::Database(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connect to db.internal:5432 refused",
        )));
        let class = StoreFailure::of(&io);
        assert_eq!(class, StoreFailure::Unavailable);
        assert!(!class.message().contains("db.internal"));
        assert_eq!(
            StoreFailure::of(&StoreError::InvalidArgument("x".into())),
            StoreFailure::Input
        );
    }

    #[test]
    fn nul_characters_are_found_with_their_path() {
        let doc = serde_json::json!({"a": {"b": ["ok", "x\u{0}y"]}, "c": 1});
        assert_eq!(nul_path(&doc).as_deref(), Some("a.b[1]"));
        assert_eq!(nul_path(&serde_json::json!({"a": "fine"})), None);
    }
}
