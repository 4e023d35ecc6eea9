//! The store on real databases: the lifecycle suite on PostgreSQL and SQLite, concurrent
//! claimers, migrators racing, a claimer process killed mid-claim, and `linnstream migrate`.
//! PostgreSQL comes from LINNSTREAM_TEST_POSTGRES_URL (scripts/test.sh starts one); these
//! tests fail when it is unreachable.

mod cli;
mod concurrency;
mod crash;
mod suite;
mod support;
mod upgrade;

on_both_backends!(
    fetched_orders_are_stored_pending_and_refreshed,
    an_order_goes_pending_in_progress_completed_deleted,
    illegal_transitions_are_refused_and_write_nothing,
    failed_orders_are_retried_up_to_the_limit,
    lapsed_claims_return_to_the_queue,
    claims_are_per_installation_and_oldest_first,
    webhook_events_are_stored_once,
    webhook_events_are_handed_out_in_order_per_order,
    webhook_failures_are_retried_until_the_limit,
    the_audit_log_is_queryable_and_pruned,
    master_data_is_replaced_whole,
    queue_views_count_list_and_search,
    job_runs_and_next_runs_are_kept,
    heartbeats_tell_live_workers_from_dead_ones,
    migrating_again_changes_nothing,
    bad_arguments_are_refused_with_a_reason,
    orders_are_found_by_number_and_reference,
    manifests_are_stored_per_installation,
    write_backs_stay_pending_until_marked,
    installation_leases_have_one_holder_until_they_expire,
    batch_permits_never_exceed_the_limit,
);
