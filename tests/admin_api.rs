//! The admin API on real stores (PostgreSQL from LINNSTREAM_TEST_POSTGRES_URL, failing when
//! unreachable, and SQLite), with the Linnworks and Stream simulators behind the engine;
//! the dashboard's sign-in and CSRF rules; and the `linnstream orders|audit|jobs` commands
//! against it.

#[path = "admin/cli.rs"]
mod cli;
#[path = "admin/console.rs"]
mod console;
#[path = "admin/dashboard.rs"]
mod dashboard;
#[path = "admin/scenarios.rs"]
mod scenarios;
#[path = "admin/support.rs"]
mod support;

on_both_stores!(
    orders_are_listed_filtered_and_searched,
    an_order_shows_its_audit_trail,
    send_and_resend_keep_the_guides_limits,
    delete_refuses_other_statuses_and_deletes_completed,
    wrong_or_missing_credentials_get_401_and_no_data,
    bad_parameters_are_refused_naming_them,
    jobs_show_runs_and_flag_overdue_ones,
);

mod console_scenarios {
    use crate::console;
    use crate::support::Backend;

    macro_rules! both {
        ($($name:ident),*) => {$(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    console::$name(Backend::Postgres).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    console::$name(Backend::Sqlite).await;
                }
            }
        )*};
    }

    both!(
        webhook_events_are_listed_filtered_and_a_failed_one_retried,
        the_overview_counts_and_buckets_and_the_label_preview_is_a_png,
        the_cli_lists_and_retries_webhook_events
    );
}
