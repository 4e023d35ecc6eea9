//! The sync engine end to end through both simulators, on PostgreSQL and on SQLite: orders
//! fetched from Linnworks, validated, created in Stream, tracking written back; failures,
//! retries, manual resend and delete; a lost reply that must not double-create; a failed
//! write-back to Linnworks retried by a later cycle; what Stream receives for each option.

// Declared before the modules that use it: each test of the calling module on both
// backends (`postgres::name`, `sqlite::name`).
macro_rules! tests_on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = $crate::harness::Harness::new($crate::db::TestDb::postgres().await).await;
                    super::$name(&h).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = $crate::harness::Harness::new($crate::db::TestDb::sqlite().await).await;
                    super::$name(&h).await;
                }
            )*
        }
    };
}

#[path = "../support/db.rs"]
mod db;
mod harness;
mod lifecycle;
mod stream_body;
mod write_back;

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = $crate::harness::Harness::new($crate::db::TestDb::postgres().await).await;
                    $crate::lifecycle::$name(&h).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = $crate::harness::Harness::new($crate::db::TestDb::sqlite().await).await;
                    $crate::lifecycle::$name(&h).await;
                }
            )*
        }
    };
}

on_both_backends!(
    orders_flow_to_stream_and_back,
    a_failed_send_is_retried_then_completes,
    retries_stop_at_the_limit_until_a_manual_resend,
    only_completed_orders_can_be_deleted,
    a_lost_reply_creates_exactly_one_stream_order,
    a_corrected_order_is_picked_up_on_the_next_fetch,
    every_validation_error_says_what_is_wrong,
);
