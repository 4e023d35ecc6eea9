//! The master-data jobs against the simulators and a real store: identifiers registered in
//! Linnworks once, Stream depots stored, and one Linnworks postal service per depot and
//! delivery method, created once and updated (never duplicated) afterwards. On PostgreSQL (a
//! fresh database per test, failing when PostgreSQL is unreachable) and SQLite.

use linnstream::domain::{AuditAction, AuditOutcome};
use linnstream::linnworks::{Identifier, PostalService};
use linnstream::sim::kit::FaultSpec;
use linnstream::sim::linnworks::NewPostalService;
use linnstream::sim::stream::{StreamSim, StreamSimConfig, default_depots};
use linnstream::store::AuditQuery;
use linnstream::sync::RunContext;
use linnstream::sync::{sync_identifiers, sync_postal_services};
use serde_json::json;

use crate::on_both_backends;
use crate::support::db::Backend;
use crate::support::sync::{ACTOR, Harness, Options};

on_both_backends!(
    identifiers_are_registered_once,
    postal_services_are_created_then_updated_not_duplicated,
    a_shrinking_depot_network_and_a_failing_stream,
    two_installations_on_one_linnworks_account_share_the_services,
    a_same_named_service_of_another_carrier_is_not_taken,
);

async fn start(backend: Backend) -> Harness {
    Harness::start_with(
        backend,
        Options {
            master_data: false,
            ..Options::default()
        },
    )
    .await
}

async fn master_data_log(h: &Harness) -> Vec<(AuditOutcome, String)> {
    h.db.store
        .audit_entries(&AuditQuery {
            installation: Some(h.key.id()),
            action: Some(AuditAction::MasterData),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .expect("audit")
        .into_iter()
        .map(|e| (e.outcome, e.message))
        .collect()
}

async fn linnworks_identifiers(h: &Harness) -> Vec<Identifier> {
    h.engine
        .clients(&h.installation())
        .expect("clients")
        .linnworks
        .get_identifiers()
        .await
        .expect("identifiers")
}

async fn linnworks_services(h: &Harness) -> Vec<PostalService> {
    h.engine
        .clients(&h.installation())
        .expect("clients")
        .linnworks
        .get_postal_services()
        .await
        .expect("postal services")
        .into_iter()
        .map(|s| s.service)
        .collect()
}

async fn identifiers_are_registered_once(backend: Backend) {
    let h = start(backend).await;
    let all = linnstream::domain::identifiers::all();
    assert_eq!(all.len(), 49);

    let first = sync_identifiers(&RunContext::new(&h.engine, &h.key, "md-1", ACTOR))
        .await
        .expect("first sync");
    assert_eq!((first.created, first.updated, first.unchanged), (49, 0, 0));
    let in_linnworks = linnworks_identifiers(&h).await;
    for (tag, name) in &all {
        let found: Vec<&Identifier> = in_linnworks.iter().filter(|i| &i.tag == tag).collect();
        assert_eq!(found.len(), 1, "{tag}");
        assert_eq!(&found[0].name, name);
    }
    // The account's own identifiers are left alone.
    assert_eq!(in_linnworks.len(), 49 + 2);
    let stored = h.db.store.identifiers(&h.key.id()).await.expect("store");
    assert_eq!(stored.items.len(), 49);
    assert!(stored.items.iter().all(|i| i.identifier_id.is_some()));
    assert!(stored.synced_at.is_some());
    assert_eq!(h.linnworks_calls("/api/OpenOrders/SaveIdentifier"), 49);

    let second = sync_identifiers(&RunContext::new(&h.engine, &h.key, "md-2", ACTOR))
        .await
        .expect("second sync");
    assert_eq!(
        (second.created, second.updated, second.unchanged),
        (0, 0, 49)
    );
    assert_eq!(
        h.linnworks_calls("/api/OpenOrders/SaveIdentifier"),
        49,
        "none registered again"
    );
    assert_eq!(linnworks_identifiers(&h).await.len(), 51);

    // Renamed by hand: named back, not registered twice.
    let mut run7 = in_linnworks
        .iter()
        .find(|i| i.tag == "RUN_07")
        .cloned()
        .expect("RUN_07");
    run7.name = "Run seven".into();
    let clients = h.engine.clients(&h.installation()).expect("clients");
    clients
        .linnworks
        .save_identifier(&run7)
        .await
        .expect("rename");
    let third = sync_identifiers(&RunContext::new(&h.engine, &h.key, "md-3", ACTOR))
        .await
        .expect("third sync");
    assert_eq!((third.created, third.updated, third.unchanged), (0, 1, 48));
    let now = linnworks_identifiers(&h).await;
    assert_eq!(now.len(), 51);
    assert!(now.iter().any(|i| i.tag == "RUN_07" && i.name == "RUN 07"));

    let log = master_data_log(&h).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log.iter().any(|(o, m)| *o == AuditOutcome::Success
            && m == "identifiers: 49 created, 0 updated, 0 unchanged"),
        "{log:?}"
    );
}

async fn postal_services_are_created_then_updated_not_duplicated(backend: Backend) {
    let h = start(backend).await;
    // Made by hand before the first sync: one under the staging vendor with the name the
    // sync wants (adopted), one under another carrier (never taken over).
    h.linnworks
        .add_postal_services(vec![
            NewPostalService {
                id: None,
                name: "Stream SOUTH South Courier".into(),
                vendor: Some("STREAMTECH".into()),
                tag: None,
                code: None,
                country: Some("GB".into()),
            },
            NewPostalService {
                id: None,
                name: "Stream MIDLANDS Midlands Courier".into(),
                vendor: Some("Royal Mail".into()),
                tag: None,
                code: None,
                country: Some("GB".into()),
            },
        ])
        .expect("hand-made services");

    let first = sync_postal_services(&RunContext::new(&h.engine, &h.key, "md-1", ACTOR))
        .await
        .expect("first sync");
    assert_eq!((first.depots, first.delivery_methods), (3, 12));
    assert_eq!(
        (first.created, first.updated, first.unchanged),
        (10, 1, 0),
        "{first:?}"
    );
    assert_eq!(first.conflicts, ["Stream MIDLANDS Midlands Courier"]);

    let depots = h.db.store.depots(&h.key.id()).await.expect("depots");
    assert_eq!(depots.items.len(), 3);
    let north = depots
        .items
        .iter()
        .find(|d| d.id == "NORTH")
        .expect("NORTH");
    assert_eq!(north.name, "Leeds Depot");
    assert!(north.delivery_methods.iter().any(|m| m.id == "NTH-2MAN"
        && m.name == "North Two-Man Delivery"
        && m.method_type == "Delivery"));

    let services = linnworks_services(&h).await;
    let synced: Vec<&PostalService> = services
        .iter()
        .filter(|s| {
            s.postal_service_code
                .as_deref()
                .is_some_and(|c| c.starts_with("STREAM:"))
        })
        .collect();
    assert_eq!(synced.len(), 11);
    let two_man = synced
        .iter()
        .find(|s| s.postal_service_code.as_deref() == Some("STREAM:NORTH:NTH-2MAN"))
        .expect("NORTH two-man");
    assert_eq!(
        two_man.postal_service_name,
        "Stream NORTH North Two-Man Delivery"
    );
    assert_eq!(two_man.vendor, "STREAM TECH");
    let adopted = synced
        .iter()
        .find(|s| s.postal_service_name == "Stream SOUTH South Courier")
        .expect("adopted");
    assert_eq!(adopted.vendor, "STREAMTECH", "a staging vendor is kept");
    let stored =
        h.db.store
            .postal_services(&h.key.id())
            .await
            .expect("store");
    assert_eq!(stored.items.len(), 11);
    assert!(stored.items.iter().any(|s| s.id
        == two_man.pk_postal_service_id.expect("id").to_string()
        && s.depot_id.as_deref() == Some("NORTH")
        && s.delivery_method_id.as_deref() == Some("NTH-2MAN")));

    let second = sync_postal_services(&RunContext::new(&h.engine, &h.key, "md-2", ACTOR))
        .await
        .expect("second sync");
    assert_eq!(
        (second.created, second.updated, second.unchanged),
        (0, 0, 11)
    );
    assert_eq!(
        linnworks_services(&h).await.len(),
        services.len(),
        "nothing duplicated"
    );

    // Renamed in Linnworks: found by its code and named back.
    let clients = h.engine.clients(&h.installation()).expect("clients");
    let mut renamed = (*two_man).clone();
    renamed.postal_service_name = "Leeds big stuff".into();
    clients
        .linnworks
        .update_postal_service(&renamed)
        .await
        .expect("rename");
    let third = sync_postal_services(&RunContext::new(&h.engine, &h.key, "md-3", ACTOR))
        .await
        .expect("third sync");
    assert_eq!((third.created, third.updated, third.unchanged), (0, 1, 10));
    let after = linnworks_services(&h).await;
    assert_eq!(after.len(), services.len());
    assert!(after.iter().any(
        |s| s.postal_service_name == "Stream NORTH North Two-Man Delivery"
            && s.pk_postal_service_id == two_man.pk_postal_service_id
    ));
    assert_eq!(
        h.linnworks_calls("/api/PostalServices/CreatePostalService"),
        10
    );

    let log = master_data_log(&h).await;
    assert!(
        log.iter()
            .any(|(_, m)| m.contains("10 created, 1 updated, 0 unchanged")
                && m.contains("Stream MIDLANDS Midlands Courier")),
        "{log:?}"
    );
}

async fn a_shrinking_depot_network_and_a_failing_stream(backend: Backend) {
    let h = start(backend).await;
    let first = sync_postal_services(&RunContext::new(&h.engine, &h.key, "md-1", ACTOR))
        .await
        .expect("first sync");
    assert_eq!(first.created, 12);

    // Stream now lists only the NORTH depot (another Stream account, as far as the
    // installation can tell).
    let smaller = StreamSim::new(StreamSimConfig {
        depots: vec![default_depots().remove(0)],
        ..StreamSimConfig::default()
    })
    .expect("simulator");
    let server = smaller.serve_loopback().await.expect("serve");
    let url = format!("{}/api", server.url());
    h.update_installation(|i| i.spec.stream.client_url = url.clone());
    let second = sync_postal_services(&RunContext::new(&h.engine, &h.key, "md-2", ACTOR))
        .await
        .expect("second sync");
    assert_eq!((second.depots, second.created, second.unchanged), (1, 0, 5));
    assert_eq!(second.withdrawn.len(), 7, "{second:?}");
    assert!(
        second
            .withdrawn
            .contains(&"Stream SOUTH South Courier".to_string())
    );
    assert_eq!(
        h.db.store
            .depots(&h.key.id())
            .await
            .expect("depots")
            .items
            .len(),
        1
    );
    assert_eq!(
        h.db.store
            .postal_services(&h.key.id())
            .await
            .expect("services")
            .items
            .len(),
        5
    );
    assert_eq!(
        linnworks_services(&h).await.len(),
        2 + 12,
        "left in Linnworks"
    );

    // Stream fails: the job fails, says why, and the stored master data stays.
    let fault = h
        .http
        .post(format!("{}/_sim/faults", server.url()))
        .json(&json!({"path": "/api/depots/depots", "kind": "status", "status": 503}))
        .send()
        .await
        .expect("fault");
    assert_eq!(fault.status().as_u16(), 201);
    let err = sync_postal_services(&RunContext::new(&h.engine, &h.key, "md-3", ACTOR))
        .await
        .expect_err("Stream is down");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(
        h.db.store
            .depots(&h.key.id())
            .await
            .expect("depots")
            .items
            .len(),
        1
    );
    let log = master_data_log(&h).await;
    assert!(
        log.iter()
            .any(|(o, m)| *o == AuditOutcome::Failure && m.contains("503")),
        "{log:?}"
    );
    server.shutdown().await;
}

fn fault(h: &Harness, spec: serde_json::Value) {
    let spec: FaultSpec = serde_json::from_value(spec).expect("fault spec");
    h.linnworks.kit().faults().add(spec).expect("fault");
}

/// Two installations on one Linnworks account (two warehouses, say) sync the same depots
/// at the same moment, as they do at their nightly time or when both start: each service
/// is made once, by whichever gets there first, and the other installation takes it.
async fn two_installations_on_one_linnworks_account_share_the_services(backend: Backend) {
    let h = start(backend).await;
    let other = h.add_installation("second-warehouse", |_| {});
    // Creates take a moment, so both syncs read the list before either has created anything.
    fault(
        &h,
        json!({"path": "/api/PostalServices/CreatePostalService", "kind": "latency", "latencyMs": 200}),
    );
    let (run_a, run_b) = (
        RunContext::new(&h.engine, &h.key, "md-a", ACTOR),
        RunContext::new(&h.engine, &other, "md-b", ACTOR),
    );
    let (first, second) = tokio::join!(sync_postal_services(&run_a), sync_postal_services(&run_b));
    let first = first.expect("the first installation's sync");
    let second = second.expect("the second installation's sync");
    for s in [&first, &second] {
        assert_eq!(s.created + s.adopted + s.unchanged, 12, "{s:?}");
        assert!(s.conflicts.is_empty(), "{s:?}");
    }
    assert_eq!(first.created + second.created, 12, "{first:?} {second:?}");

    // Linnworks holds each STREAM TECH service once.
    let services = linnworks_services(&h).await;
    let mut names: Vec<String> = services
        .iter()
        .filter(|s| s.vendor == "STREAM TECH")
        .map(|s| s.postal_service_name.to_ascii_lowercase())
        .collect();
    let all = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all, "a service twice: {services:?}");
    assert_eq!(
        services
            .iter()
            .filter(|s| s
                .postal_service_code
                .as_deref()
                .is_some_and(|c| c.starts_with("STREAM:")))
            .count(),
        12
    );
    // Both installations map orders to the same services.
    let ids = |key: &linnstream::domain::InstallationKey| {
        let store = h.db.store.clone();
        let installation = key.id();
        async move {
            let mut ids: Vec<String> = store
                .postal_services(&installation)
                .await
                .expect("store")
                .items
                .into_iter()
                .map(|s| s.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let first_ids = ids(&h.key).await;
    assert_eq!(first_ids.len(), 12);
    assert_eq!(first_ids, ids(&other).await);

    // The next night: nothing to do for either.
    for key in [&h.key, &other] {
        let again = sync_postal_services(&RunContext::new(&h.engine, key, "md-again", ACTOR))
            .await
            .expect("sync again");
        assert_eq!(
            (again.created, again.updated, again.unchanged, again.adopted),
            (0, 0, 12, 0)
        );
    }
    assert_eq!(
        h.linnworks_calls("/api/PostalServices/CreatePostalService"),
        24,
        "each service created by one installation, refused to the other"
    );
}

/// A service of another carrier that takes a wanted name after the list was read is not
/// taken over: the job fails naming it.
async fn a_same_named_service_of_another_carrier_is_not_taken(backend: Backend) {
    let h = start(backend).await;
    const NAME: &str = "Stream NORTH North Two-Man Delivery";
    fault(
        &h,
        json!({"path": "/api/PostalServices/CreatePostalService", "kind": "latency", "latencyMs": 500}),
    );
    let sync = tokio::spawn({
        let (engine, key) = (h.engine.clone(), h.key.clone());
        async move { sync_postal_services(&RunContext::new(&engine, &key, "md-1", ACTOR)).await }
    });
    // Once the sync has its list, the other carrier's service appears.
    let listed = |h: &Harness| {
        h.linnworks
            .kit()
            .recorder()
            .requests()
            .iter()
            .any(|r| r.path == "/api/PostalServices/GetPostalServices" && r.status == Some(200))
    };
    while !listed(&h) {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    h.linnworks
        .add_postal_services(vec![NewPostalService {
            id: None,
            name: NAME.into(),
            vendor: Some("Royal Mail".into()),
            tag: None,
            code: None,
            country: Some("GB".into()),
        }])
        .expect("the other carrier's service");
    let err = sync
        .await
        .expect("the sync task")
        .expect_err("the name is another carrier's");
    let message = err.to_string();
    assert!(
        message.contains(NAME) && message.contains("Royal Mail"),
        "{message}"
    );
    let services = linnworks_services(&h).await;
    let taken: Vec<&PostalService> = services
        .iter()
        .filter(|s| s.postal_service_name == NAME)
        .collect();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].vendor, "Royal Mail");
    let log = master_data_log(&h).await;
    assert!(
        log.iter()
            .any(|(o, m)| *o == AuditOutcome::Failure && m.contains(NAME)),
        "{log:?}"
    );
}
