//! The rhai engine scripts run in: no module loading, no `eval`, no
//! printing, only the core, string, array, map, logic and math packages (no
//! filesystem, network or time), and limits on operations, sizes, depth
//! and wall-clock time.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, Shared};

/// Operations one call may run (statements, expressions, function calls).
pub(crate) const MAX_OPERATIONS: u64 = 500_000;
/// Wall-clock time one call may take.
pub(crate) const MAX_TIME: Duration = Duration::from_millis(1000);
/// Largest total bytes of strings in one value.
pub(crate) const MAX_STRING: usize = 1 << 20;
/// Most array elements in one value (nested arrays count).
pub(crate) const MAX_ARRAY: usize = 10_000;
/// Most map entries in one value (nested maps count): a full rich-list
/// page of 1000 accounts has 10 000.
pub(crate) const MAX_MAP: usize = 20_000;
/// Deepest function call nesting.
pub(crate) const MAX_CALL_LEVELS: usize = 16;
/// Most variables in one scope.
pub(crate) const MAX_VARIABLES: usize = 128;

/// The marker `on_progress` terminates a script with when time is up.
pub(crate) const TIMEOUT_MARKER: &str = "honeygraph:timeout";

fn packages() -> &'static [Shared<rhai::Module>] {
    static PACKAGES: OnceLock<Vec<Shared<rhai::Module>>> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        vec![
            CorePackage::new().as_shared_module(),
            LogicPackage::new().as_shared_module(),
            BasicMathPackage::new().as_shared_module(),
            MoreStringPackage::new().as_shared_module(),
            BasicArrayPackage::new().as_shared_module(),
            BasicMapPackage::new().as_shared_module(),
        ]
    })
}

/// A fresh engine with the limits; the clock starts now.
pub(crate) fn engine() -> Engine {
    let mut engine = Engine::new_raw();
    for package in packages() {
        engine.register_global_module(package.clone());
    }
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_string_size(MAX_STRING)
        .set_max_array_size(MAX_ARRAY)
        .set_max_map_size(MAX_MAP)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_variables(MAX_VARIABLES)
        .set_max_expr_depths(64, 32)
        .set_max_functions(256)
        .set_max_modules(0);
    engine.disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    let start = Instant::now();
    engine
        .on_progress(move |_| (start.elapsed() > MAX_TIME).then(|| Dynamic::from(TIMEOUT_MARKER)));
    engine
}
