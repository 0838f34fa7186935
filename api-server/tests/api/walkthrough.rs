//! Runs the README's curl walkthrough against a live server and checks the
//! README still shows the script verbatim.

use sqlx::MySqlPool;

use crate::support::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/walkthrough.sh");
const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");

#[sqlx::test(migrations = "../migrations")]
async fn the_readme_walkthrough_runs_against_a_live_server(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let out = tokio::process::Command::new("bash")
        .arg(SCRIPT)
        .env("BASE", format!("http://{}", app.addr))
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .await
        .expect("run walkthrough");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "walkthrough failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "template text.upper v1");
    assert!(
        lines[1].starts_with("workflow ") && lines[1].ends_with("revision 1 problems 0"),
        "{stdout}"
    );
    assert_eq!(lines[2], "refused: not_found");
    assert_eq!(app.count("workflow").await, 1);
}

#[test]
fn the_readme_shows_the_walkthrough_verbatim() {
    let script = std::fs::read_to_string(SCRIPT).unwrap();
    let readme = std::fs::read_to_string(README).unwrap();
    let body: String = script
        .lines()
        .skip_while(|l| !l.starts_with("# 1."))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        readme.contains(&body),
        "README.md must contain scripts/walkthrough.sh from step 1 on"
    );
}
