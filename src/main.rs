//! The `nod` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

// mimalloc: the request path allocates small, short-lived strings on two threads at once;
// glibc's malloc showed up with ~10% of the CPU time of a verify under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = nod::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("nod: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(nod::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // `nod user list | head`: the reader has all it wanted; end quietly, as Unix tools do.
        Err(e) if nod::cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nod: {e:#}");
            ExitCode::FAILURE
        }
    }
}
