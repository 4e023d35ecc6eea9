//! `linnstream migrate`: applies the embedded migrations to the database a URL names.

use std::process::{Command, Output};

use crate::support::db::create_postgres_database;

fn migrate(url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["migrate", "--database-url", url])
        .env_remove("LINNSTREAM_DATABASE_URL")
        .output()
        .expect("run linnstream migrate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn store_cli_migrate_creates_and_migrates_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("linnstream.db");
    let url = format!("sqlite:{}", file.display());

    let first = migrate(&url);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(text(&first.stdout), "SQLite schema version 6\n");
    assert!(
        text(&first.stderr).contains("applied migration 1 store")
            && text(&first.stderr).contains("applied migration 2 manifests")
            && text(&first.stderr).contains("applied migration 3 write back")
            && text(&first.stderr).contains("applied migration 4 send deferrals")
            && text(&first.stderr).contains("applied migration 5 pool"),
        "{}",
        text(&first.stderr)
    );
    assert!(file.exists(), "the database file is created");

    let again = Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .arg("migrate")
        .env("LINNSTREAM_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("SQLite database is up to date"),
        "{}",
        text(&again.stderr)
    );
}

#[tokio::test]
async fn store_cli_migrate_migrates_postgres() {
    let db = create_postgres_database().await;
    let url = db.url.clone();
    let out = tokio::task::spawn_blocking(move || migrate(&url))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "PostgreSQL schema version 6\n");
    assert!(text(&out.stderr).contains("applied migration 1 store"));
    assert!(text(&out.stderr).contains("applied migration 2 manifests"));
    assert!(text(&out.stderr).contains("applied migration 3 write back"));
    assert!(text(&out.stderr).contains("applied migration 4 send deferrals"));
    assert!(text(&out.stderr).contains("applied migration 5 pool"));
}

#[test]
fn store_cli_migrate_refuses_an_unknown_scheme_without_echoing_secrets() {
    let out = migrate("mysql://root:hunter2@db.internal/linn");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "unsupported database URL scheme `mysql`: use postgres://, postgresql:// or sqlite:"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
