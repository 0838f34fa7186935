//! Prints the OpenAPI document; the web client's types are generated from it.

fn main() {
    match serde_json::to_string_pretty(&katalusis_api::http::openapi()) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("openapi: {e}");
            std::process::exit(1);
        }
    }
}
