//! Stream's event codes and what each one means to the integration: what it does to the
//! orders it names, whether installations subscribe to it, and how Stream files it.
//!
//! Every fact about a code is one arm of [`EventCode::facts`], so a new code is one name in
//! the `event_codes!` list and one arm; the compiler points at the arm.

use std::fmt;

/// Declares [`EventCode`] and its `ALL` from one list, so a new code cannot be left out of
/// parsing and subscriptions.
macro_rules! event_codes {
    ($($variant:ident),+ $(,)?) => {
        /// The event codes the integration knows. A notification with any other code is
        /// stored and recorded, and changes nothing.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventCode {
            $($variant),+
        }

        impl EventCode {
            /// Every code, in the order installations subscribe to them.
            pub const ALL: &'static [EventCode] = &[$(EventCode::$variant),+];
        }
    };
}

event_codes! {
    Delivered,
    PartDelivered,
    Collected,
    PartCollected,
    OpenPlanning,
    LockPlanning,
    ClosePlanning,
    PlannedGroup,
    Dispatched,
    PlannedDelivery,
}

/// What an event does to the Linnworks orders it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventEffect {
    /// A note on the order; DELIVERED and COLLECTED may also mark it processed.
    Delivery,
    /// The order moves into a delivery run (RUN and SEQ identifiers).
    Planning,
    /// The order's run left the depot (applied when IsOrderDispatchSyncEnabled).
    Dispatch,
    /// Recorded without effect.
    None,
}

/// Stream's family for an event code (`event_type` of a subscription): run-level events carry
/// `run` and `orders[]`, the others `order.id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventFamily {
    Run,
    Order,
}

impl EventFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            EventFamily::Run => "RUN",
            EventFamily::Order => "ORDER",
        }
    }
}

/// Which installations subscribe to a code in Stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subscribed {
    /// Every installation with webhooks.
    Always,
    /// Only with IsOrderDispatchSyncEnabled.
    WithDispatchSync,
    Never,
}

/// Everything known about one code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventFacts {
    /// The code as Stream spells it.
    pub code: &'static str,
    /// Stream's `event_code_desc`.
    pub description: &'static str,
    pub effect: EventEffect,
    pub family: EventFamily,
    pub subscribed: Subscribed,
    /// DELIVERED and COLLECTED complete an order (marked processed when the mapping says so).
    pub completes_order: bool,
}

impl EventCode {
    /// Everything about this code; a new code's arm is the one place its facts are typed.
    pub const fn facts(self) -> EventFacts {
        match self {
            EventCode::Delivered => EventFacts {
                code: "DELIVERED",
                description: "Delivered",
                effect: EventEffect::Delivery,
                family: EventFamily::Order,
                subscribed: Subscribed::Always,
                completes_order: true,
            },
            EventCode::PartDelivered => EventFacts {
                code: "PARTDELVRD",
                description: "Part delivered",
                effect: EventEffect::Delivery,
                family: EventFamily::Order,
                subscribed: Subscribed::Always,
                completes_order: false,
            },
            EventCode::Collected => EventFacts {
                code: "COLLECTED",
                description: "Collected",
                effect: EventEffect::Delivery,
                family: EventFamily::Order,
                subscribed: Subscribed::Always,
                completes_order: true,
            },
            EventCode::PartCollected => EventFacts {
                code: "PARTCOLLECTED",
                description: "Part collected",
                effect: EventEffect::Delivery,
                family: EventFamily::Order,
                subscribed: Subscribed::Always,
                completes_order: false,
            },
            EventCode::OpenPlanning => EventFacts {
                code: "OPENPLANNING",
                description: "Open planning",
                effect: EventEffect::Planning,
                family: EventFamily::Run,
                subscribed: Subscribed::Always,
                completes_order: false,
            },
            EventCode::LockPlanning => EventFacts {
                code: "LOCKPLANNING",
                description: "Lock planning",
                effect: EventEffect::Planning,
                family: EventFamily::Run,
                subscribed: Subscribed::Always,
                completes_order: false,
            },
            EventCode::ClosePlanning => EventFacts {
                code: "CLOSEPLANNING",
                description: "Close planning",
                effect: EventEffect::Planning,
                family: EventFamily::Run,
                subscribed: Subscribed::Always,
                completes_order: false,
            },
            EventCode::PlannedGroup => EventFacts {
                code: "PLANNEDGROUP",
                description: "Planned group",
                effect: EventEffect::Planning,
                family: EventFamily::Run,
                subscribed: Subscribed::Always,
                completes_order: false,
            },
            EventCode::Dispatched => EventFacts {
                code: "DISPATCHED",
                description: "Dispatched",
                effect: EventEffect::Dispatch,
                family: EventFamily::Run,
                subscribed: Subscribed::WithDispatchSync,
                completes_order: false,
            },
            EventCode::PlannedDelivery => EventFacts {
                code: "PLANNEDDELIVERY",
                description: "Planned delivery",
                effect: EventEffect::None,
                family: EventFamily::Run,
                subscribed: Subscribed::Never,
                completes_order: false,
            },
        }
    }

    /// The code as Stream spells it, e.g. `PARTDELVRD`.
    pub const fn as_str(self) -> &'static str {
        self.facts().code
    }

    /// Reads a code as Stream sends it, ignoring case and surrounding space.
    pub fn parse(text: &str) -> Option<EventCode> {
        let text = text.trim();
        EventCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text))
    }

    pub fn effect(self) -> EventEffect {
        self.facts().effect
    }

    pub fn completes_order(self) -> bool {
        self.facts().completes_order
    }

    /// The codes one installation subscribes to, in the order they are subscribed.
    pub fn subscribed(dispatch_sync: bool) -> Vec<EventCode> {
        EventCode::ALL
            .iter()
            .copied()
            .filter(|c| match c.facts().subscribed {
                Subscribed::Always => true,
                Subscribed::WithDispatchSync => dispatch_sync,
                Subscribed::Never => false,
            })
            .collect()
    }

    /// [`EventCode::subscribed`], as Stream spells the codes.
    pub fn subscribed_codes(dispatch_sync: bool) -> Vec<&'static str> {
        EventCode::subscribed(dispatch_sync)
            .into_iter()
            .map(EventCode::as_str)
            .collect()
    }
}

impl fmt::Display for EventCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The family of a code as Stream sent it; an unknown code is an order-level one.
pub fn family_of(code: &str) -> EventFamily {
    EventCode::parse(code).map_or(EventFamily::Order, |c| c.facts().family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_spelling() {
        for &code in EventCode::ALL {
            assert_eq!(EventCode::parse(code.as_str()), Some(code));
            assert_eq!(
                EventCode::parse(&format!(" {} ", code.as_str().to_lowercase())),
                Some(code)
            );
        }
        assert_eq!(EventCode::parse("SHIPPED"), None);
    }

    #[test]
    fn installations_subscribe_to_outcomes_and_planning_and_dispatch_on_request() {
        let names = |v: Vec<EventCode>| v.into_iter().map(EventCode::as_str).collect::<Vec<_>>();
        assert_eq!(
            names(EventCode::subscribed(false)),
            [
                "DELIVERED",
                "PARTDELVRD",
                "COLLECTED",
                "PARTCOLLECTED",
                "OPENPLANNING",
                "LOCKPLANNING",
                "CLOSEPLANNING",
                "PLANNEDGROUP"
            ]
        );
        let with = names(EventCode::subscribed(true));
        assert_eq!(with.len(), 9);
        assert_eq!(with.last(), Some(&"DISPATCHED"));
    }

    #[test]
    fn only_delivered_and_collected_complete_an_order() {
        let completing: Vec<_> = EventCode::ALL
            .iter()
            .copied()
            .filter(|c| c.completes_order())
            .collect();
        assert_eq!(completing, [EventCode::Delivered, EventCode::Collected]);
        assert_eq!(family_of("lockplanning"), EventFamily::Run);
        assert_eq!(family_of("DELIVERED"), EventFamily::Order);
        assert_eq!(family_of("SOMETHINGNEW"), EventFamily::Order);
    }
}
