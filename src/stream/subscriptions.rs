//! Which Stream webhook subscriptions to create and delete so that one receiver gets the
//! events it wants, as a pure function shared by the standalone `run` and the operator.
//! Stream's listing does not return the auth header (*inferred*), so a subscription whose
//! header is not known from a record cannot be kept: it might carry an old token.

use super::model::WebhookSubscriptionInfo;

/// The subscriptions one receiver wants: these event codes, delivered to `url` with the
/// auth header `auth` (or whatever stands for it in the caller's records, e.g. a
/// fingerprint).
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'a> {
    pub url: &'a str,
    pub auth: &'a str,
    pub events: &'a [&'a str],
}

/// A subscription the receiver holds: recorded by it, or listed by Stream for its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub id: String,
    pub event: String,
    pub url: String,
    /// `None` when not known (Stream's listing does not show it).
    pub auth: Option<String>,
}

impl Held {
    /// The subscriptions Stream lists for `url`, whose auth header is unknown.
    pub fn listed_at(listed: Vec<WebhookSubscriptionInfo>, url: &str) -> Vec<Self> {
        listed
            .into_iter()
            .filter(|s| s.url_path == url)
            .map(|s| Self {
                id: s.id,
                event: s.event,
                url: s.url_path,
                auth: None,
            })
            .collect()
    }
}

/// What to do with the held subscriptions.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Already right: the wanted URL and auth, for a wanted event.
    pub keep: Vec<Held>,
    /// For another URL or auth (or an unknown one): removed before subscribing, so Stream
    /// never delivers an event twice.
    pub replace: Vec<Held>,
    /// Right URL and auth, for an event no longer wanted: removed once the wanted ones are
    /// in place.
    pub retire: Vec<Held>,
    /// Wanted events nothing kept covers, in the wanted order.
    pub create: Vec<&'a str>,
}

impl Plan<'_> {
    /// Nothing to create or delete.
    pub fn is_settled(&self) -> bool {
        self.replace.is_empty() && self.retire.is_empty() && self.create.is_empty()
    }
}

/// Sorts `held` into kept, replaced and retired, and lists the wanted events to create.
pub fn plan<'a>(wanted: &Wanted<'a>, held: Vec<Held>) -> Plan<'a> {
    let mut plan = Plan::default();
    for h in held {
        if h.url != wanted.url || h.auth.as_deref() != Some(wanted.auth) {
            plan.replace.push(h);
        } else if wanted.events.contains(&h.event.as_str()) {
            plan.keep.push(h);
        } else {
            plan.retire.push(h);
        }
    }
    plan.create = wanted
        .events
        .iter()
        .copied()
        .filter(|e| !plan.keep.iter().any(|k| k.event == *e))
        .collect();
    plan
}

/// For each of `events`, a subscription Stream lists at `url` that none of `taken` (ids
/// already accounted for) is: ones made by an attempt whose ids were never recorded.
pub fn adoptable<'a>(
    listed: &[WebhookSubscriptionInfo],
    url: &str,
    events: &[&'a str],
    taken: &[&str],
) -> Vec<(&'a str, String)> {
    let mut adopted: Vec<(&'a str, String)> = Vec::new();
    for event in events {
        if let Some(found) = listed.iter().find(|l| {
            l.url_path == url
                && l.event.eq_ignore_ascii_case(event)
                && !l.id.is_empty()
                && !taken.contains(&l.id.as_str())
                && !adopted.iter().any(|(_, id)| *id == l.id)
        }) {
            adopted.push((event, found.id.clone()));
        }
    }
    adopted
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://hooks.example.com/webhooks/shop/acme";

    fn held(id: &str, event: &str, url: &str, auth: Option<&str>) -> Held {
        Held {
            id: id.into(),
            event: event.into(),
            url: url.into(),
            auth: auth.map(Into::into),
        }
    }

    fn wanted<'a>(events: &'a [&'a str]) -> Wanted<'a> {
        Wanted {
            url: URL,
            auth: "fp1",
            events,
        }
    }

    fn listed(id: &str, event: &str, url: &str) -> WebhookSubscriptionInfo {
        WebhookSubscriptionInfo {
            id: id.into(),
            event: event.into(),
            url_path: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn nothing_held_creates_every_wanted_event_in_order() {
        let p = plan(&wanted(&["DELIVERED", "DISPATCHED"]), Vec::new());
        assert_eq!(p.create, ["DELIVERED", "DISPATCHED"]);
        assert!(p.keep.is_empty() && p.replace.is_empty() && p.retire.is_empty());
    }

    #[test]
    fn the_same_url_and_auth_keeps_wanted_events_and_retires_the_rest() {
        let p = plan(
            &wanted(&["DELIVERED", "COLLECTED"]),
            vec![
                held("1", "DELIVERED", URL, Some("fp1")),
                held("2", "DISPATCHED", URL, Some("fp1")),
            ],
        );
        assert_eq!(p.keep, [held("1", "DELIVERED", URL, Some("fp1"))]);
        assert_eq!(p.retire, [held("2", "DISPATCHED", URL, Some("fp1"))]);
        assert_eq!(p.create, ["COLLECTED"]);
        assert!(p.replace.is_empty());
        assert!(!p.is_settled());
    }

    #[test]
    fn another_url_or_auth_or_an_unknown_one_is_replaced() {
        let p = plan(
            &wanted(&["DELIVERED"]),
            vec![
                held("1", "DELIVERED", "https://old.example.com/x", Some("fp1")),
                held("2", "DELIVERED", URL, Some("fp0")),
                held("3", "DELIVERED", URL, None),
            ],
        );
        assert_eq!(p.replace.len(), 3);
        assert!(p.keep.is_empty() && p.retire.is_empty());
        assert_eq!(p.create, ["DELIVERED"]);
    }

    #[test]
    fn all_in_place_is_settled() {
        let p = plan(
            &wanted(&["DELIVERED"]),
            vec![held("1", "DELIVERED", URL, Some("fp1"))],
        );
        assert!(p.is_settled());
    }

    #[test]
    fn listed_subscriptions_count_only_at_the_url_and_with_no_known_auth() {
        let h = Held::listed_at(
            vec![
                listed("1", "DELIVERED", URL),
                listed("2", "DELIVERED", "https://other.example.com/"),
            ],
            URL,
        );
        assert_eq!(h, [held("1", "DELIVERED", URL, None)]);
        // So a listing is always replaced: its token cannot be told.
        let p = plan(&wanted(&["DELIVERED"]), h);
        assert_eq!(p.replace.len(), 1);
        assert_eq!(p.create, ["DELIVERED"]);
    }

    #[test]
    fn adopts_one_listed_subscription_per_event_at_the_url_not_yet_taken() {
        let l = vec![
            listed("9", "delivered", URL),
            listed("", "COLLECTED", URL),
            listed("7", "COLLECTED", "https://other.example.com/"),
            listed("5", "PARTDELVRD", URL),
            listed("6", "PARTDELVRD", URL),
        ];
        let got = adoptable(&l, URL, &["DELIVERED", "COLLECTED", "PARTDELVRD"], &["5"]);
        assert_eq!(
            got,
            [
                ("DELIVERED", "9".to_string()),
                ("PARTDELVRD", "6".to_string())
            ]
        );
    }
}
