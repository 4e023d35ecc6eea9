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
use futures::stream::BoxStream;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject};
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
use super::context::{Context, Wiring};
use super::settings::OperatorConfig;
use super::{installation, mapping};
use crate::crd::{Installation, PostalServiceMapping};

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

type Shutdown = Shared<BoxFuture<'static, ()>>;
type Watch<K> = BoxStream<'static, Result<K, watcher::Error>>;

/// The watch streams that trigger the Installation controller; each also feeds its cache
/// in [`Caches`].
struct InstallationWatches {
    installations: Watch<Installation>,
    secrets: Watch<PartialObjectMeta<Secret>>,
    service_accounts: Watch<PartialObjectMeta<ServiceAccount>>,
    roles: Watch<PartialObjectMeta<Role>>,
    role_bindings: Watch<PartialObjectMeta<RoleBinding>>,
    services: Watch<PartialObjectMeta<Service>>,
    deployments: Watch<Deployment>,
    cron_jobs: Watch<PartialObjectMeta<DynamicObject>>,
    cron_resource: ApiResource,
}

/// The watch streams that trigger the mapping controller.
struct MappingWatches {
    mappings: Watch<PostalServiceMapping>,
    /// Installations as metadata only (the controller reads them from the cache).
    installations: Watch<PartialObjectMeta<Installation>>,
}

/// Runs both controllers until `shutdown` completes (then lets running reconciles finish).
pub async fn run(wiring: Wiring, shutdown: Shutdown) {
    let (client, config) = (&wiring.client, &wiring.config);
    let (caches, installation_watches, mapping_watches) =
        watch(client, &config.watch_namespace, wiring.cron_job_api);
    // Every reconcile (a change to an Installation, a mapping, a referenced Secret, or a
    // resync) tells the config Secret's writer to look again.
    let config_changed = Arc::new(tokio::sync::Notify::new());
    let config_writer = spawn_config_writer(
        client,
        config,
        &caches,
        config_changed.clone(),
        shutdown.clone(),
    );
    let recorder = recorder(client, config);
    let (triggers, trigger_rx) = tokio::sync::mpsc::unbounded_channel();
    let controller_config = controller::Config::default()
        .concurrency(config.concurrency)
        .debounce(Duration::from_millis(200));
    let ctx = Arc::new(Context::new(wiring, recorder, caches, triggers));
    let pool_keeper = match (&ctx.config.pool, &ctx.config.config_secret) {
        (Some(_), Some(_)) => Some(tokio::spawn(keep_pool(ctx.clone(), shutdown.clone()))),
        _ => None,
    };
    let installation_controller = installation_controller(
        ctx.clone(),
        installation_watches,
        controller_config.clone(),
        shutdown.clone(),
        config_changed.clone(),
    );
    let mapping_controller = mapping_controller(
        ctx,
        mapping_watches,
        controller_config,
        trigger_rx,
        shutdown,
        config_changed,
    );
    futures::join!(installation_controller, mapping_controller);
    if let Some(writer) = config_writer {
        let _ = writer.await;
    }
    if let Some(keeper) = pool_keeper {
        let _ = keeper.await;
    }
}

/// Starts every watch (filtered, and stripped of what the reconciles never read) with the
/// cache it feeds.
fn watch(
    client: &Client,
    ns: &Option<String>,
    cron_job_api: CronJobApi,
) -> (Caches, InstallationWatches, MappingWatches) {
    let managed = watcher::Config::default().labels(MANAGED_BY);
    let (installations, installation_stream) = watch_installations(client, ns);
    let (mappings, mapping_stream) = watch_mappings(client, ns);
    // The mapping controller looks Installations up in the cache above; this watch only
    // triggers it.
    let installation_meta = watcher(
        api::<PartialObjectMeta<Installation>>(client, ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .touched_objects()
    .boxed();
    // ServiceAccount token Secrets (one per ServiceAccount on older clusters) are never
    // referenced: left out.
    let (secrets, secret_stream) = metadata_cache::<Secret>(
        client,
        ns,
        watcher::Config::default().fields("type!=kubernetes.io/service-account-token"),
    );
    let (service_accounts, sa_stream) =
        metadata_cache::<ServiceAccount>(client, ns, managed.clone());
    let (roles, role_stream) = metadata_cache::<Role>(client, ns, managed.clone());
    let (role_bindings, rb_stream) = metadata_cache::<RoleBinding>(client, ns, managed.clone());
    let (services, svc_stream) = metadata_cache::<Service>(client, ns, managed.clone());
    let (deployments, deployment_stream) = watch_deployments(client, ns, managed.clone());
    let cron_resource = cron_job_api.api_resource();
    let (cron_jobs, cron_stream) = watch_cron_jobs(client, ns, managed, &cron_resource);
    let caches = Caches {
        installations,
        mappings,
        secrets,
        service_accounts,
        roles,
        role_bindings,
        services,
        deployments,
        cron_jobs,
    };
    let installation_watches = InstallationWatches {
        installations: installation_stream,
        secrets: secret_stream.boxed(),
        service_accounts: sa_stream.boxed(),
        roles: role_stream.boxed(),
        role_bindings: rb_stream.boxed(),
        services: svc_stream.boxed(),
        deployments: deployment_stream,
        cron_jobs: cron_stream,
        cron_resource,
    };
    let mapping_watches = MappingWatches {
        mappings: mapping_stream,
        installations: installation_meta,
    };
    (caches, installation_watches, mapping_watches)
}

/// The Installation controller; every reconcile it finishes notifies `changed`.
fn installation_controller(
    ctx: Arc<Context>,
    watches: InstallationWatches,
    config: controller::Config,
    shutdown: Shutdown,
    changed: Arc<tokio::sync::Notify>,
) -> impl Future<Output = ()> {
    let cache = ctx.caches.installations.clone();
    let to_installations = secret_to_installations(&ctx);
    Controller::for_stream(watches.installations, cache)
        .with_config(config)
        .owns_stream(watches.service_accounts)
        .owns_stream(watches.roles)
        .owns_stream(watches.role_bindings)
        .owns_stream(watches.services)
        .owns_stream(watches.deployments)
        .owns_stream_with(watches.cron_jobs, watches.cron_resource)
        .watches_stream(watches.secrets, to_installations)
        .graceful_shutdown_on(shutdown)
        .run(installation::reconcile, installation::error_policy, ctx)
        .for_each(move |result| notify_and_log(&changed, result, "installation"))
}

/// The PostalServiceMapping controller, also run for the mappings the Installation
/// reconciles send on `triggers`; every reconcile it finishes notifies `changed`.
fn mapping_controller(
    ctx: Arc<Context>,
    watches: MappingWatches,
    config: controller::Config,
    triggers: tokio::sync::mpsc::UnboundedReceiver<ObjectRef<PostalServiceMapping>>,
    shutdown: Shutdown,
    changed: Arc<tokio::sync::Notify>,
) -> impl Future<Output = ()> {
    let cache = ctx.caches.mappings.clone();
    let to_mappings = installation_to_mappings(&ctx);
    let triggered = futures::stream::unfold(triggers, |mut rx| async move {
        rx.recv().await.map(|r| (r, rx))
    });
    Controller::for_stream(watches.mappings, cache)
        .with_config(config)
        .watches_stream(watches.installations, to_mappings)
        .reconcile_on(triggered)
        .graceful_shutdown_on(shutdown)
        .run(mapping::reconcile, mapping::error_policy, ctx)
        .for_each(move |result| notify_and_log(&changed, result, "mapping"))
}

/// After every reconcile: tells the config Secret's writer to look again; a failure (already
/// handled by the error policy) is logged at debug level.
fn notify_and_log<T, E: std::fmt::Display>(
    changed: &tokio::sync::Notify,
    result: Result<T, E>,
    controller: &'static str,
) -> std::future::Ready<()> {
    changed.notify_one();
    if let Err(e) = result {
        tracing::debug!("{controller} controller: {e}");
    }
    std::future::ready(())
}

fn watch_installations(
    client: &Client,
    ns: &Option<String>,
) -> (reflector::Store<Installation>, Watch<Installation>) {
    let (reader, writer) = reflector::store::<Installation>();
    let stream = watcher(api::<Installation>(client, ns), watcher::Config::default())
        .default_backoff()
        .modify(|i| i.managed_fields_mut().clear())
        .reflect(writer)
        .touched_objects()
        .boxed();
    (reader, stream)
}

fn watch_mappings(
    client: &Client,
    ns: &Option<String>,
) -> (
    reflector::Store<PostalServiceMapping>,
    Watch<PostalServiceMapping>,
) {
    let (reader, writer) = reflector::store::<PostalServiceMapping>();
    let stream = watcher(
        api::<PostalServiceMapping>(client, ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(strip_metadata)
    .reflect(writer)
    .touched_objects()
    .boxed();
    (reader, stream)
}

fn watch_deployments(
    client: &Client,
    ns: &Option<String>,
    managed: watcher::Config,
) -> (reflector::Store<Deployment>, Watch<Deployment>) {
    let (reader, writer) = reflector::store::<Deployment>();
    let stream = watcher(api::<Deployment>(client, ns), managed)
        .default_backoff()
        .modify(|d| {
            // Only the status (available replicas) and the metadata are read.
            d.managed_fields_mut().clear();
            d.spec = None;
        })
        .reflect(writer)
        .touched_objects()
        .boxed();
    (reader, stream)
}

fn watch_cron_jobs(
    client: &Client,
    ns: &Option<String>,
    managed: watcher::Config,
    resource: &ApiResource,
) -> (
    reflector::Store<PartialObjectMeta<DynamicObject>>,
    Watch<PartialObjectMeta<DynamicObject>>,
) {
    let api: Api<PartialObjectMeta<DynamicObject>> = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    };
    let writer = Writer::<PartialObjectMeta<DynamicObject>>::new(resource.clone());
    let reader = writer.as_reader();
    let stream = watcher(api, managed)
        .default_backoff()
        .modify(|m| m.managed_fields_mut().clear())
        .reflect(writer)
        .touched_objects()
        .boxed();
    (reader, stream)
}

/// The writer of the config Secret the shared worker pool reads, when there is one.
fn spawn_config_writer(
    client: &Client,
    config: &OperatorConfig,
    caches: &Caches,
    changed: Arc<tokio::sync::Notify>,
    shutdown: Shutdown,
) -> Option<tokio::task::JoinHandle<()>> {
    let target = config.config_secret.clone()?;
    Some(tokio::spawn(super::config::run(
        client.clone(),
        target,
        super::config::Sources {
            installations: caches.installations.clone(),
            mappings: caches.mappings.clone(),
            secrets: caches.secrets.clone(),
            default_worker_mode: config.children.default_worker_mode,
        },
        changed,
        shutdown,
    )))
}

fn recorder(client: &Client, config: &OperatorConfig) -> Recorder {
    Recorder::new(
        client.clone(),
        Reporter {
            controller: REPORTER.into(),
            instance: Some(config.lease.identity.clone()),
        },
    )
}

/// A Secret concerns the Installations of its namespace that reference it (credentials,
/// or the database URL every one of them reads), and the one that owns it.
fn secret_to_installations(
    ctx: &Context,
) -> impl Fn(PartialObjectMeta<Secret>) -> Vec<ObjectRef<Installation>> + Send + Sync + 'static {
    let referencing = ctx.caches.installations.clone();
    let database = ctx.config.children.database_url.clone();
    move |secret: PartialObjectMeta<Secret>| {
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
    }
}

/// An Installation concerns the mappings that name it.
fn installation_to_mappings(
    ctx: &Context,
) -> impl Fn(PartialObjectMeta<Installation>) -> Vec<ObjectRef<PostalServiceMapping>>
+ Send
+ Sync
+ 'static {
    let by_installation = ctx.caches.mappings.clone();
    move |inst: PartialObjectMeta<Installation>| {
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
    }
}

/// Keeps the shared worker pool's objects as built (see `build::pool`), applied at start
/// and again every resync, until `shutdown`.
async fn keep_pool(ctx: Arc<Context>, shutdown: Shutdown) {
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
