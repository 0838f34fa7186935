//! Secret parameter values. They are sealed by the vault when a graph is
//! saved, read back as `{"set": true}`, and opened only when a node is
//! dispatched (`executor::job`). `store` walks every stored secret for the
//! startup check, the plaintext migration and key rotation.

pub mod params;
pub mod store;
