//! Regenerates `src/schema.rs`: starts a throwaway PostgreSQL, applies the
//! migrations with the diesel CLI and runs `diesel print-schema` (settings in
//! `diesel.toml`). Needs `diesel_cli` with the postgres feature:
//! `cargo install diesel_cli --no-default-features --features postgres`.

use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pg = saas_db_testing::EmbeddedPostgres::start()?;
    let diesel = |args: &[&str]| -> Result<std::process::Output, std::io::Error> {
        Command::new("diesel")
            .args(args)
            .args(["--database-url", pg.url()])
            .output()
    };
    let run = diesel(&["migration", "run"])?;
    if !run.status.success() {
        return Err(String::from_utf8_lossy(&run.stderr).into_owned().into());
    }
    let schema = diesel(&["print-schema"])?;
    if !schema.status.success() {
        return Err(String::from_utf8_lossy(&schema.stderr).into_owned().into());
    }
    std::fs::write("src/schema.rs", &schema.stdout)?;
    println!("wrote src/schema.rs ({} bytes)", schema.stdout.len());
    Ok(())
}
