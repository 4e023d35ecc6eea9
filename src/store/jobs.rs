//! Job runs (what the scheduler dashboard shows: last run, outcome, next planned run) and
//! worker heartbeats (which sync loops are alive).

use chrono::{DateTime, Utc};

use super::model::{JobOverview, JobRun, WorkerHeartbeat};

use super::{Store, StoreError, StoreResult, now, sql_limit, with_pool};
use crate::domain::JobOutcome;

const RUN_COLUMNS: &str = "id, installation, job, started_at, finished_at, outcome, message";
const BEAT_COLUMNS: &str = "worker_id, process, installation, started_at, last_beat_at";

impl Store {
    /// Records that a job run started now (outcome Running); finish it with `finish_job_run`.
    pub async fn start_job_run(&self, installation: &str, job: &str) -> StoreResult<JobRun> {
        let sql = format!(
            "INSERT INTO job_runs (installation, job, started_at, outcome, message) \
             VALUES ($1, $2, $3, $4, '') RETURNING {RUN_COLUMNS}"
        );
        let run = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(installation)
                .bind(job)
                .bind(now())
                .bind(JobOutcome::Running.as_str())
                .fetch_one(pool)
                .await?
        });
        Ok(run)
    }

    /// Records how a started job run ended, now.
    pub async fn finish_job_run(
        &self,
        id: i64,
        outcome: JobOutcome,
        message: &str,
    ) -> StoreResult<JobRun> {
        let sql = format!(
            "UPDATE job_runs SET finished_at = $2, outcome = $3, message = $4 WHERE id = $1 \
             RETURNING {RUN_COLUMNS}"
        );
        let run: Option<JobRun> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(now())
                .bind(outcome.as_str())
                .bind(message)
                .fetch_optional(pool)
                .await?
        });
        run.ok_or(StoreError::JobRunNotFound { id })
    }

    /// Records a whole job run at once.
    pub async fn record_job_run(
        &self,
        installation: &str,
        job: &str,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        outcome: JobOutcome,
        message: &str,
    ) -> StoreResult<JobRun> {
        let sql = format!(
            "INSERT INTO job_runs (installation, job, started_at, finished_at, outcome, message) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {RUN_COLUMNS}"
        );
        let run = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(installation)
                .bind(job)
                .bind(started_at)
                .bind(finished_at)
                .bind(outcome.as_str())
                .bind(message)
                .fetch_one(pool)
                .await?
        });
        Ok(run)
    }

    /// The newest `limit` runs of one job of the installation, newest first.
    pub async fn job_runs(
        &self,
        installation: &str,
        job: &str,
        limit: u32,
    ) -> StoreResult<Vec<JobRun>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM job_runs WHERE installation = $1 AND job = $2 \
             ORDER BY started_at DESC, id DESC LIMIT $3"
        );
        let runs = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(installation)
                .bind(job)
                .bind(sql_limit(limit))
                .fetch_all(pool)
                .await?
        });
        Ok(runs)
    }

    /// The newest run of one job of the installation.
    pub async fn last_job_run(&self, installation: &str, job: &str) -> StoreResult<Option<JobRun>> {
        Ok(self
            .job_runs(installation, job, 1)
            .await?
            .into_iter()
            .next())
    }

    /// Records when the scheduler will next run one job of the installation.
    pub async fn set_next_run(
        &self,
        installation: &str,
        job: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO job_schedule (installation, job, next_run_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (installation, job) DO UPDATE SET next_run_at = excluded.next_run_at",
            )
            .bind(installation)
            .bind(job)
            .bind(at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// When the scheduler will next run one job of the installation, if it said.
    pub async fn next_run(
        &self,
        installation: &str,
        job: &str,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let row: Option<(DateTime<Utc>,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT next_run_at FROM job_schedule WHERE installation = $1 AND job = $2")
                .bind(installation)
                .bind(job)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(t,)| t))
    }

    /// Every job of the installation that has run or is scheduled, by name, with its last run
    /// and next planned run.
    pub async fn job_overview(&self, installation: &str) -> StoreResult<Vec<JobOverview>> {
        let jobs: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT job FROM job_runs WHERE installation = $1 \
                 UNION SELECT job FROM job_schedule WHERE installation = $1 ORDER BY 1",
            )
            .bind(installation)
            .fetch_all(pool)
            .await?
        });
        let mut overview = Vec::with_capacity(jobs.len());
        for (job,) in jobs {
            overview.push(JobOverview {
                last_run: self.last_job_run(installation, &job).await?,
                next_run_at: self.next_run(installation, &job).await?,
                job,
            });
        }
        Ok(overview)
    }

    /// Deletes job runs started before `older_than`; returns how many.
    pub async fn prune_job_runs(&self, older_than: DateTime<Utc>) -> StoreResult<u64> {
        self.delete_in_batches("job_runs", "started_at < $1", older_than)
            .await
    }

    /// Takes the run of a job that only one process may run at a time (e.g. the daily
    /// prune, `installation` being a placeholder for the whole database) when it is due at
    /// `now`, moving its next run to `next`. Exactly one of any number of processes asking
    /// at once gets true: the check and the move are one statement.
    pub async fn take_due_run(
        &self,
        installation: &str,
        job: &str,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO job_schedule (installation, job, next_run_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (installation, job) DO UPDATE SET next_run_at = excluded.next_run_at \
                 WHERE job_schedule.next_run_at <= $4",
            )
            .bind(installation)
            .bind(job)
            .bind(next)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Records that a worker loop is alive now (first beat also records its start).
    pub async fn heartbeat(
        &self,
        worker_id: &str,
        process: &str,
        installation: Option<&str>,
    ) -> StoreResult<WorkerHeartbeat> {
        let sql = format!(
            "INSERT INTO worker_heartbeats (worker_id, process, installation, started_at, last_beat_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (worker_id) DO UPDATE SET process = excluded.process, \
                installation = excluded.installation, last_beat_at = excluded.last_beat_at \
             RETURNING {BEAT_COLUMNS}"
        );
        let beat = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(worker_id)
                .bind(process)
                .bind(installation)
                .bind(now())
                .fetch_one(pool)
                .await?
        });
        Ok(beat)
    }

    /// Workers whose last beat is at or after `since`, newest beat first.
    pub async fn live_workers(&self, since: DateTime<Utc>) -> StoreResult<Vec<WorkerHeartbeat>> {
        let sql = format!(
            "SELECT {BEAT_COLUMNS} FROM worker_heartbeats WHERE last_beat_at >= $1 \
             ORDER BY last_beat_at DESC, worker_id"
        );
        let beats = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(since).fetch_all(pool).await?
        });
        Ok(beats)
    }

    /// Every worker that ever beat and was not removed, newest beat first.
    pub async fn workers(&self) -> StoreResult<Vec<WorkerHeartbeat>> {
        let sql = format!(
            "SELECT {BEAT_COLUMNS} FROM worker_heartbeats ORDER BY last_beat_at DESC, worker_id"
        );
        let beats = with_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        Ok(beats)
    }

    /// Forgets a worker (on orderly shutdown); returns whether it was known.
    pub async fn remove_worker(&self, worker_id: &str) -> StoreResult<bool> {
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM worker_heartbeats WHERE worker_id = $1")
                .bind(worker_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Forgets workers silent since before `older_than`; returns how many.
    pub async fn prune_workers(&self, older_than: DateTime<Utc>) -> StoreResult<u64> {
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM worker_heartbeats WHERE last_beat_at < $1")
                .bind(older_than)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}
