//! The two controllers and the watches behind them. Each watched kind feeds a cache (a
//! reflector store) the reconciles read, and triggers reconciles of the Installation it
//! belongs to. Children are watched by their `managed-by` label and, except the worker
//! Deployments (whose available replicas go into status), as metadata only; Secrets (the
//! Installations reference them) as metadata only too. Managed fields are dropped, so the
//! caches stay small.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::{BoxFuture, Shared};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::build::CronJobApi;
use super::caches::Caches;
use super::context::Context;
use super::metrics::Metrics;
use super::settings::OperatorConfig;
use super::{installation, mapping};
use crate::crd::{Installation, PostalServiceMapping};
use crate::store::Store;

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by=linnstream-operator";
pub const REPORTER: &str = "linnstream-operator";

fn api<K>(client: &Client, ns: &Option<String>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Drops what the reconciles never read and can be large: managed fields, and the copy of
/// the whole object `kubectl apply` (client-side) keeps in an annotation.
fn strip_metadata<K: ResourceExt>(obj: &mut K) {
    obj.managed_fields_mut().clear();
    obj.annotations_mut()
        .remove("kubectl.kubernetes.io/last-applied-configuration");
}

/// A metadata-only watch of the kind `K` (filtered by `config`) feeding a new cache;
/// returns the cache and the trigger stream.
fn metadata_cache<K>(
    client: &Client,
    ns: &Option<String>,
    config: watcher::Config,
) -> (
    reflector::Store<PartialObjectMeta<K>>,
    impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store::<PartialObjectMeta<K>>();
    let stream = watcher(api::<PartialObjectMeta<K>>(client, ns), config)
        .default_backoff()
        .modify(strip_metadata)
        .reflect(writer)
        .touched_objects();
    (reader, stream)
}

/// Runs both controllers until `shutdown` completes (then lets running reconciles finish).
pub async fn run(
    client: Client,
    config: OperatorConfig,
    metrics: Arc<Metrics>,
    store: Store,
    cron_job_api: CronJobApi,
    shutdown: Shared<BoxFuture<'static, ()>>,
) {
    let ns = config.watch_namespace.clone();
    let managed = watcher::Config::default().labels(MANAGED_BY);

    let (installations, inst_writer) = reflector::store::<Installation>();
    let installation_stream = watcher(
        api::<Installation>(&client, &ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(|i| i.managed_fields_mut().clear())
    .reflect(inst_writer)
    .touched_objects();
    let (mappings, map_writer) = reflector::store::<PostalServiceMapping>();
    let mapping_stream = watcher(
        api::<PostalServiceMapping>(&client, &ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(strip_metadata)
    .reflect(map_writer)
    .touched_objects();
    // The mapping controller looks Installations up in the cache above; this watch only
    // triggers it.
    let inst_meta_stream = watcher(
        api::<PartialObjectMeta<Installation>>(&client, &ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .touched_objects();
    // ServiceAccount token Secrets (one per ServiceAccount on older clusters) are never
    // referenced: left out.
    let (secrets, secret_stream) = metadata_cache::<Secret>(
        &client,
        &ns,
        watcher::Config::default().fields("type!=kubernetes.io/service-account-token"),
    );
    let (service_accounts, sa_stream) =
        metadata_cache::<ServiceAccount>(&client, &ns, managed.clone());
    let (roles, role_stream) = metadata_cache::<Role>(&client, &ns, managed.clone());
    let (role_bindings, rb_stream) = metadata_cache::<RoleBinding>(&client, &ns, managed.clone());
    let (services, svc_stream) = metadata_cache::<Service>(&client, &ns, managed.clone());
    let (deployments, deploy_writer) = reflector::store::<Deployment>();
    let deployment_stream = watcher(api::<Deployment>(&client, &ns), managed.clone())
        .default_backoff()
        .modify(|d| {
            // Only the status (available replicas) and the metadata are read.
            d.managed_fields_mut().clear();
            d.spec = None;
        })
        .reflect(deploy_writer)
        .touched_objects();
    let cron_resource = cron_job_api.api_resource();
    let cron_api: Api<PartialObjectMeta<DynamicObject>> = match &ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &cron_resource),
        None => Api::all_with(client.clone(), &cron_resource),
    };
    let cron_writer = Writer::<PartialObjectMeta<DynamicObject>>::new(cron_resource.clone());
    let cron_jobs = cron_writer.as_reader();
    let cron_stream = watcher(cron_api, managed)
        .default_backoff()
        .modify(|m| m.managed_fields_mut().clear())
        .reflect(cron_writer)
        .touched_objects();

    // Every reconcile (a change to an Installation, a mapping, a referenced Secret, or a
    // resync) tells the config Secret's writer to look again.
    let config_changed = Arc::new(tokio::sync::Notify::new());
    let config_writer = config.config_secret.clone().map(|target| {
        tokio::spawn(super::config::run(
            client.clone(),
            target,
            super::config::Sources {
                installations: installations.clone(),
                mappings: mappings.clone(),
                secrets: secrets.clone(),
                default_worker_mode: config.children.default_worker_mode,
            },
            config_changed.clone(),
            shutdown.clone(),
        ))
    });
    let caches = Caches {
        installations: installations.clone(),
        mappings: mappings.clone(),
        secrets,
        service_accounts,
        roles,
        role_bindings,
        services,
        deployments,
        cron_jobs,
    };
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: REPORTER.into(),
            instance: Some(config.lease.identity.clone()),
        },
    );
    let (triggers, trigger_rx) = tokio::sync::mpsc::unbounded_channel();
    let controller_config = controller::Config::default()
        .concurrency(config.concurrency)
        .debounce(Duration::from_millis(200));
    let ctx = Arc::new(Context::new(
        client,
        recorder,
        metrics,
        store,
        config,
        cron_job_api,
        caches,
        triggers,
    ));

    let pool_keeper = match (&ctx.config.pool, &ctx.config.config_secret) {
        (Some(_), Some(_)) => Some(tokio::spawn(keep_pool(ctx.clone(), shutdown.clone()))),
        _ => None,
    };

    // A Secret concerns the Installations of its namespace that reference it (credentials,
    // or the database URL every one of them reads), and the one that owns it.
    let referencing = installations.clone();
    let database = ctx.config.children.database_url.clone();
    let secret_to_installations = move |secret: PartialObjectMeta<Secret>| {
        let ns = secret.namespace().unwrap_or_default();
        let name = secret.name_any();
        referencing
            .state()
            .into_iter()
            .filter(|i| i.namespace().as_deref() == Some(ns.as_str()))
            .filter(|i| {
                super::secrets::references(&i.spec, &database)
                    .iter()
                    .any(|r| r.secret.name == name)
                    || secret
                        .owner_references()
                        .iter()
                        .any(|o| o.kind == "Installation" && o.name == i.name_any())
            })
            .map(|i| ObjectRef::from_obj(&*i))
            .collect::<Vec<_>>()
    };
    let installation_changed = config_changed.clone();
    let installation_controller = Controller::for_stream(installation_stream, installations)
        .with_config(controller_config.clone())
        .owns_stream(sa_stream)
        .owns_stream(role_stream)
        .owns_stream(rb_stream)
        .owns_stream(svc_stream)
        .owns_stream(deployment_stream)
        .owns_stream_with(cron_stream, cron_resource)
        .watches_stream(secret_stream, secret_to_installations)
        .graceful_shutdown_on(shutdown.clone())
        .run(
            installation::reconcile,
            installation::error_policy,
            ctx.clone(),
        )
        .for_each(|result| {
            installation_changed.notify_one();
            async move {
                if let Err(e) = result {
                    tracing::debug!("installation controller: {e}");
                }
            }
        });

    let by_installation = mappings.clone();
    let installation_to_mappings = move |inst: PartialObjectMeta<Installation>| {
        let ns = inst.namespace().unwrap_or_default();
        let name = inst.name_any();
        by_installation
            .state()
            .into_iter()
            .filter(|m| {
                m.namespace().as_deref() == Some(ns.as_str())
                    && m.spec.installation_ref.name == name
            })
            .map(|m| ObjectRef::from_obj(&*m))
            .collect::<Vec<_>>()
    };
    let triggered = futures::stream::unfold(trigger_rx, |mut rx| async move {
        rx.recv().await.map(|r| (r, rx))
    });
    let mapping_controller = Controller::for_stream(mapping_stream, mappings)
        .with_config(controller_config)
        .watches_stream(inst_meta_stream, installation_to_mappings)
        .reconcile_on(triggered)
        .graceful_shutdown_on(shutdown)
        .run(mapping::reconcile, mapping::error_policy, ctx)
        .for_each(|result| {
            config_changed.notify_one();
            async move {
                if let Err(e) = result {
                    tracing::debug!("mapping controller: {e}");
                }
            }
        });
    futures::join!(installation_controller, mapping_controller);
    if let Some(writer) = config_writer {
        let _ = writer.await;
    }
    if let Some(keeper) = pool_keeper {
        let _ = keeper.await;
    }
}

/// Keeps the shared worker pool's objects as built (see `build::pool`), applied at start
/// and again every resync, until `shutdown`.
async fn keep_pool(ctx: Arc<Context>, shutdown: Shared<BoxFuture<'static, ()>>) {
    let (Some(pool), Some(target)) = (&ctx.config.pool, &ctx.config.config_secret) else {
        return;
    };
    let children =
        super::build::pool::build(&ctx.config.children, pool, &target.namespace, &target.name);
    loop {
        let applied = match children.to_json() {
            Ok(objects) => ctx
                .applier
                .apply(&target.namespace, &objects, &ctx.caches)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match applied {
            Ok(changed) if !changed.is_empty() => {
                let list: Vec<String> = changed.iter().map(ToString::to_string).collect();
                tracing::info!("worker pool: created or updated {}", list.join(", "));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("applying the worker pool's objects: {e}; trying again"),
        }
        tokio::select! {
            () = tokio::time::sleep(ctx.config.resync_interval) => {}
            () = shutdown.clone() => return,
        }
    }
}
