//! The admin API on real stores (PostgreSQL from LINNSTREAM_TEST_POSTGRES_URL, failing when
//! unreachable, and SQLite), with the Linnworks and Stream simulators behind the engine;
//! the dashboard's sign-in and CSRF rules; and the `linnstream orders|audit|jobs` commands
//! against it.

#[path = "admin/cli.rs"]
mod cli;
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
