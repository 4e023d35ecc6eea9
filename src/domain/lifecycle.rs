//! The order lifecycle: every legal status change, in one table, as pure functions.
//!
//! Every write that changes an order's status is checked against this table, either in Rust
//! (single-order changes read the row, check, then update it by version) or in SQL built from
//! it (the batch statements: claim, retry promotion, lease expiry).

use super::order::OrderStatus::{self, *};

/// Why an order changes status. The same pair of statuses can be legal for one cause and not
/// for another: an In Progress order returns to the queue only when its lease expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A worker claims the order to send it.
    Claim,
    /// Stream accepted the order.
    Complete,
    /// Stream rejected the order (or could not be reached).
    Fail,
    /// The order lacks required data or configuration.
    FailValidation,
    /// A re-fetched Validation Failed order is now valid.
    Revalidate,
    /// The next cycle queues a failed order again (below MaxRetryAttempts).
    PromoteRetry,
    /// A person asked to send a failed order again (the attempt count restarts).
    ManualResend,
    /// A person deleted a completed order from Stream.
    Delete,
    /// The worker holding the order stopped renewing its claim.
    LeaseExpired,
    /// Stream could not be reached: the order waits in the queue, its retries untouched.
    Defer,
    /// The worker holding the order is stopping and handed the claim back unfinished.
    Release,
}

/// Every legal (from, to, cause).
pub const TRANSITIONS: &[(OrderStatus, OrderStatus, Cause)] = &[
    (Pending, InProgress, Cause::Claim),
    (ReadyForRetry, InProgress, Cause::Claim),
    (InProgress, Completed, Cause::Complete),
    (InProgress, Failed, Cause::Fail),
    (InProgress, ValidationFailed, Cause::FailValidation),
    (Pending, ValidationFailed, Cause::FailValidation),
    (ValidationFailed, Pending, Cause::Revalidate),
    (Failed, ReadyForRetry, Cause::PromoteRetry),
    (Failed, ReadyForRetry, Cause::ManualResend),
    (Completed, Deleted, Cause::Delete),
    (InProgress, Pending, Cause::LeaseExpired),
    (InProgress, ReadyForRetry, Cause::LeaseExpired),
    (InProgress, Pending, Cause::Defer),
    (InProgress, ReadyForRetry, Cause::Defer),
    (InProgress, Pending, Cause::Release),
    (InProgress, ReadyForRetry, Cause::Release),
];

/// A status change the lifecycle does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot move from {from} to {to}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

/// Whether `from -> to` is legal for some cause.
pub fn is_legal(from: OrderStatus, to: OrderStatus) -> bool {
    TRANSITIONS.iter().any(|(f, t, _)| *f == from && *t == to)
}

/// Checks that `from -> to` is legal for `cause`.
pub fn check_transition(
    from: OrderStatus,
    to: OrderStatus,
    cause: Cause,
) -> Result<(), IllegalTransition> {
    if TRANSITIONS.contains(&(from, to, cause)) {
        Ok(())
    } else {
        Err(IllegalTransition { from, to })
    }
}

/// The statuses from which `cause` may move an order to `to`.
pub fn sources(to: OrderStatus, cause: Cause) -> Vec<OrderStatus> {
    TRANSITIONS
        .iter()
        .filter(|(_, t, c)| *t == to && *c == cause)
        .map(|(f, _, _)| *f)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lifecycle of the user guide, written out pair by pair.
    const EXPECTED_LEGAL: &[(OrderStatus, OrderStatus)] = &[
        (Pending, InProgress),
        (ReadyForRetry, InProgress),
        (InProgress, Completed),
        (InProgress, Failed),
        (InProgress, ValidationFailed),
        (Pending, ValidationFailed),
        (ValidationFailed, Pending),
        (Failed, ReadyForRetry),
        (Completed, Deleted),
        (InProgress, Pending),
        (InProgress, ReadyForRetry),
    ];

    #[test]
    fn every_pair_is_legal_exactly_when_the_guide_says_so() {
        let mut legal = 0;
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                let expected = EXPECTED_LEGAL.contains(&(*from, *to));
                assert_eq!(is_legal(*from, *to), expected, "{from} -> {to}");
                legal += usize::from(expected);
            }
        }
        assert_eq!(legal, EXPECTED_LEGAL.len());
    }

    #[test]
    fn nothing_moves_to_itself_and_deleted_is_final() {
        for s in OrderStatus::ALL {
            assert!(!is_legal(*s, *s), "{s} -> {s}");
            assert!(!is_legal(Deleted, *s), "Deleted -> {s}");
        }
    }

    #[test]
    fn every_cause_is_checked_for_every_pair() {
        let causes = [
            Cause::Claim,
            Cause::Complete,
            Cause::Fail,
            Cause::FailValidation,
            Cause::Revalidate,
            Cause::PromoteRetry,
            Cause::ManualResend,
            Cause::Delete,
            Cause::LeaseExpired,
            Cause::Release,
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                for cause in causes {
                    let ok = check_transition(*from, *to, cause).is_ok();
                    assert_eq!(ok, TRANSITIONS.contains(&(*from, *to, cause)));
                }
            }
        }
    }

    #[test]
    fn in_progress_returns_to_the_queue_only_through_lease_expiry_or_release() {
        for cause in [
            Cause::Claim,
            Cause::Fail,
            Cause::Revalidate,
            Cause::ManualResend,
        ] {
            assert!(check_transition(InProgress, Pending, cause).is_err());
            assert!(check_transition(InProgress, ReadyForRetry, cause).is_err());
        }
        assert!(check_transition(InProgress, Pending, Cause::LeaseExpired).is_ok());
        assert!(check_transition(InProgress, ReadyForRetry, Cause::LeaseExpired).is_ok());
        assert!(check_transition(InProgress, Pending, Cause::Release).is_ok());
        assert!(check_transition(InProgress, ReadyForRetry, Cause::Release).is_ok());
    }

    #[test]
    fn illegal_transition_names_both_statuses() {
        let err = check_transition(Pending, Deleted, Cause::Delete).unwrap_err();
        assert_eq!(
            err,
            IllegalTransition {
                from: Pending,
                to: Deleted
            }
        );
        assert_eq!(
            err.to_string(),
            "an order cannot move from Pending to Deleted"
        );
        assert!(check_transition(Failed, Completed, Cause::Complete).is_err());
        assert!(check_transition(ValidationFailed, InProgress, Cause::Claim).is_err());
    }

    #[test]
    fn sources_feed_the_batch_statements() {
        assert_eq!(
            sources(InProgress, Cause::Claim),
            vec![Pending, ReadyForRetry]
        );
        assert_eq!(sources(ReadyForRetry, Cause::PromoteRetry), vec![Failed]);
        assert_eq!(sources(Pending, Cause::LeaseExpired), vec![InProgress]);
    }
}
