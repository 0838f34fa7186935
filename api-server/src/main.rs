use katalusis_api::config::Settings;

#[tokio::main]
async fn main() {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("katalusis-api: {e}");
            std::process::exit(2);
        }
    };
    katalusis_api::init_tracing(&settings);
    if let Err(e) = katalusis_api::run(settings).await {
        tracing::error!(error = format!("{e:#}"), "fatal");
        std::process::exit(1);
    }
}
