// Re-embed migrations when they change (diesel_migrations' embed_migrations! reads them at build time).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
