//! One file per command. Each takes its options (from `cli.rs`) and the loaded configuration,
//! runs, and returns the exit code; the messages it shows go through `report::Reporter`.

pub mod completion;
pub mod doctor;
pub mod exec;
pub mod login;
pub mod logout;
pub mod mcp;
pub mod status;
pub mod switch;
pub mod token;
