use katalusis_api::config::Settings;

const USAGE: &str = "usage: katalusis-api [admin rotate-secrets --new-key-file PATH]";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => None,
        ["admin", "rotate-secrets", "--new-key-file", path] => {
            Some(std::path::PathBuf::from(*path))
        }
        ["--help" | "-h" | "help"] => {
            println!("{USAGE}");
            return;
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("katalusis-api: {e}");
            std::process::exit(2);
        }
    };
    katalusis_api::init_tracing(&settings);
    let result = match command {
        None => katalusis_api::run(settings).await,
        Some(path) => katalusis_api::rotate_secrets(settings, &path).await,
    };
    if let Err(e) = result {
        tracing::error!(error = format!("{e:#}"), "fatal");
        std::process::exit(1);
    }
}
