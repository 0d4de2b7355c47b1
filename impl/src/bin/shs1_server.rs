//! shs1-testsuite server executable: `ssb-shs1-server NETID_HEX SERVER_SK_HEX SERVER_PK_HEX`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rng = rand_core::OsRng;
    if let Err(e) = ssb_impl::shs1_exe::run_server(
        &args,
        &mut rng,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    ) {
        eprintln!("ssb-shs1-server: {e}");
        std::process::exit(1);
    }
}
