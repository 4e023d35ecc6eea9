//! The two master-data CronJobs (`linnstream master-data identifiers|postal-services`), in
//! the CronJob API the cluster serves: `batch/v1` with `timeZone` on current clusters,
//! `batch/v1beta1` (no `timeZone`; schedule rewritten to UTC, see [`super::cron_utc`]) on
//! old ones such as Kubernetes 1.20.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};

use super::pod::{self, Credentials};
use super::{BuildError, Component, Context, cron_utc, env};
use crate::domain::schedule::{parse_cron, parse_time_zone};

/// Annotations on a `batch/v1beta1` CronJob recording what the UTC schedule came from.
pub const SCHEDULE_ANNOTATION: &str = "linnstream.io/schedule";
pub const TIME_ZONE_ANNOTATION: &str = "linnstream.io/time-zone";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CronJobApi {
    /// `batch/v1`, with `timeZone` (Kubernetes 1.27 and later honour it).
    BatchV1,
    /// `batch/v1beta1` (Kubernetes up to 1.24), without `timeZone`.
    BatchV1Beta1,
}

impl CronJobApi {
    pub fn api_version(self) -> &'static str {
        match self {
            CronJobApi::BatchV1 => "batch/v1",
            CronJobApi::BatchV1Beta1 => "batch/v1beta1",
        }
    }

    pub fn api_resource(self) -> ApiResource {
        let version = match self {
            CronJobApi::BatchV1 => "v1",
            CronJobApi::BatchV1Beta1 => "v1beta1",
        };
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("batch", version, "CronJob"),
            "cronjobs",
        )
    }
}

/// One master-data job kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasterData {
    Identifiers,
    PostalServices,
}

impl MasterData {
    /// The `linnstream master-data` sub-subcommand.
    pub fn subcommand(self) -> &'static str {
        match self {
            MasterData::Identifiers => "identifiers",
            MasterData::PostalServices => "postal-services",
        }
    }

    fn schedule_field(self) -> &'static str {
        match self {
            MasterData::Identifiers => "spec.schedule.identifiersSchedule",
            MasterData::PostalServices => "spec.schedule.postalServicesSchedule",
        }
    }
}

pub fn args(ctx: &Context, kind: MasterData) -> Vec<String> {
    let mut args = vec!["master-data".to_string(), kind.subcommand().to_string()];
    args.extend(pod::installation_args(ctx));
    args
}

/// The `batch/v1` CronJob, with the Installation's schedule and time zone.
pub fn cron_job_v1(ctx: &Context, kind: MasterData) -> CronJob {
    let spec = &ctx.installation.spec;
    let (name, schedule) = match kind {
        MasterData::Identifiers => (&ctx.names.identifiers, &spec.schedule.identifiers_schedule),
        MasterData::PostalServices => (
            &ctx.names.postal_services,
            &spec.schedule.postal_services_schedule,
        ),
    };
    let mut vars = pod::credential_env(
        ctx,
        Credentials {
            stream_client_id: true,
            stream_client_secret: true,
            linnworks: true,
            webhook_token: false,
        },
    );
    vars.extend(env::system_settings(&ctx.settings.system));
    let container = pod::container(ctx, "master-data", args(ctx, kind), vars);
    let labels = ctx.labels(Component::MasterData);
    CronJob {
        metadata: ctx.meta(name, Component::MasterData),
        spec: Some(CronJobSpec {
            schedule: schedule.clone(),
            time_zone: Some(spec.schedule.time_zone.clone()),
            suspend: Some(spec.suspend),
            // A slow run is never doubled; a run missed while the cluster was busy still
            // happens if it can start within the hour.
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(3600),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    active_deadline_seconds: Some(3600),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(labels),
                            ..ObjectMeta::default()
                        }),
                        spec: Some(pod::pod_spec(ctx, container, "Never")),
                    },
                    ..JobSpec::default()
                }),
            },
        }),
        status: None,
    }
}

/// The same CronJob as `batch/v1beta1`: no `timeZone`, the schedule rewritten to UTC at
/// the zone's offset at `now`, and the original kept in annotations.
pub fn cron_job_v1beta1(
    ctx: &Context,
    kind: MasterData,
    now: DateTime<Utc>,
) -> Result<DynamicObject, BuildError> {
    let v1 = cron_job_v1(ctx, kind);
    let schedule_spec = &ctx.installation.spec.schedule;
    let zone =
        parse_time_zone(&schedule_spec.time_zone).map_err(|message| BuildError::InvalidSpec {
            path: "spec.schedule.timeZone".into(),
            message,
        })?;
    let mut spec = v1.spec.unwrap_or_default();
    let local = std::mem::take(&mut spec.schedule);
    spec.time_zone = None;
    let offset = cron_utc::offset_minutes(&zone, now);
    // Converted from the normalised form: macros expanded, names and `?` resolved.
    let normalised = parse_cron(&local).map_err(|message| BuildError::InvalidSpec {
        path: kind.schedule_field().into(),
        message,
    })?;
    spec.schedule = cron_utc::to_utc(normalised.expression(), offset).map_err(|e| BuildError::InvalidSpec {
        path: kind.schedule_field().into(),
        message: format!(
            "{local:?} in {} cannot run on this cluster's batch/v1beta1 CronJobs (no timeZone): {e}",
            schedule_spec.time_zone
        ),
    })?;
    let mut metadata = v1.metadata;
    metadata.annotations = Some(BTreeMap::from([
        (SCHEDULE_ANNOTATION.to_string(), local),
        (
            TIME_ZONE_ANNOTATION.to_string(),
            schedule_spec.time_zone.clone(),
        ),
    ]));
    let resource = CronJobApi::BatchV1Beta1.api_resource();
    let mut obj = DynamicObject::new("", &resource);
    obj.metadata = metadata;
    obj.data = serde_json::json!({ "spec": spec });
    Ok(obj)
}

/// Both CronJobs (identifiers, then postal services) in the API version `api`.
pub fn build(
    ctx: &Context,
    api: CronJobApi,
    now: DateTime<Utc>,
) -> Result<Vec<DynamicObject>, BuildError> {
    [MasterData::Identifiers, MasterData::PostalServices]
        .into_iter()
        .map(|kind| match api {
            CronJobApi::BatchV1 => {
                let job = cron_job_v1(ctx, kind);
                let resource = CronJobApi::BatchV1.api_resource();
                let mut obj = DynamicObject::new("", &resource);
                obj.metadata = job.metadata;
                obj.data = serde_json::json!({ "spec": job.spec });
                Ok(obj)
            }
            CronJobApi::BatchV1Beta1 => cron_job_v1beta1(ctx, kind, now),
        })
        .collect()
}
