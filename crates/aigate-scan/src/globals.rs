//! Which pickle globals are safe, dangerous or unknown.
//!
//! Three sources, consulted in this order: the curated denylist (`data/denylist.txt`), the
//! user's `[scan] deny` and `allow` patterns, and the generated allowlist
//! (`data/allowlist.txt`, made by `scripts/gen_allowlist.py` from what ML libraries write).
//! Python 2 names are mapped with CPython's `_compat_pickle` tables (`data/compat_pickle.txt`)
//! and both spellings are judged; the worse verdict wins.
//!
//! An allowlist entry names the [`Uses`] it is admitted for: a class that is only instantiated
//! (`NEWOBJ`, then `BUILD` with its state) is not admitted to be called with arguments
//! (`REDUCE`, `INST`, `OBJ`), which runs its `__init__` with whatever the file chooses, unless
//! the generator's inspection showed that call to be inert.

use std::collections::{HashMap, HashSet};
use std::fmt;

const DENYLIST: &str = include_str!("../data/denylist.txt");
const ALLOWLIST: &str = include_str!("../data/allowlist.txt");
const COMPAT: &str = include_str!("../data/compat_pickle.txt");

/// Dunder names that pickles legitimately import.
const HARMLESS_DUNDERS: &[&str] = &["__newobj__", "__newobj_ex__"];

/// How a pickle uses a global: the set of opcodes that reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uses(u8);

impl Uses {
    /// Nothing.
    pub const NONE: Uses = Uses(0);
    /// Imported and passed on as a value (an argument, a state), never invoked by the stream.
    pub const IMPORT: Uses = Uses(1);
    /// `NEWOBJ` / `NEWOBJ_EX`: `cls.__new__(cls, *args)`; the C unpickler requires a class.
    pub const NEW: Uses = Uses(2);
    /// `BUILD` on an instance of it: `__setstate__(state)`, or its `__dict__` updated.
    pub const BUILD: Uses = Uses(4);
    /// `REDUCE`, `INST`, `OBJ`: called with arguments the file chooses.
    pub const CALL: Uses = Uses(8);
    /// Every use.
    pub const ALL: Uses = Uses(15);

    const NAMES: [(Uses, &'static str); 4] = [
        (Uses::IMPORT, "import"),
        (Uses::NEW, "new"),
        (Uses::BUILD, "build"),
        (Uses::CALL, "call"),
    ];

    /// The use an opcode makes of the callable or class it reaches.
    pub fn of_opcode(opcode: &str) -> Uses {
        match opcode {
            "NEWOBJ" | "NEWOBJ_EX" => Uses::NEW,
            "BUILD" => Uses::BUILD,
            // REDUCE, INST, OBJ, and anything else that reaches a callable: the worst.
            _ => Uses::CALL,
        }
    }

    /// Parses `new,build` (the allowlist's column); `import` is implied.
    pub fn parse(text: &str) -> Option<Uses> {
        text.split(',').try_fold(Uses::IMPORT, |acc, word| {
            Uses::NAMES
                .iter()
                .find(|(_, name)| *name == word)
                .map(|(u, _)| acc | *u)
        })
    }

    /// Whether every use in `other` is in `self`.
    pub fn contains(self, other: Uses) -> bool {
        self.0 & other.0 == other.0
    }

    /// The uses in `self` that are not in `other`.
    pub fn without(self, other: Uses) -> Uses {
        Uses(self.0 & !other.0)
    }
}

impl std::ops::BitOr for Uses {
    type Output = Uses;
    fn bitor(self, rhs: Uses) -> Uses {
        Uses(self.0 | rhs.0)
    }
}

impl fmt::Display for Uses {
    /// `new,build`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Uses::NAMES
            .iter()
            .filter(|(u, _)| self.contains(*u))
            .map(|(_, name)| *name)
            .collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

/// How a global is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// On the allowlist (built in or the user's) for every use the pickle makes of it.
    Safe,
    /// On the allowlist, but used in a way it is not admitted for: `used` are the uses
    /// beyond `admitted`. Called with arguments, an instantiable class runs its `__init__`.
    Unadmitted {
        /// The uses the allowlist admits it for.
        admitted: Uses,
        /// The uses the pickle makes of it that are not admitted.
        used: Uses,
    },
    /// Runs code, reflects, touches files or the network, or loads a second stage.
    Unsafe {
        /// Why: the denylist entry or pattern it matched.
        reason: String,
    },
    /// Neither: it could run any code its module chooses.
    Unknown,
}

/// A user pattern: `pkg.mod.Name` (exact) or `pkg.mod.*` (everything below `pkg.mod`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    path: String,
    subtree: bool,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, PatternError> {
        let (path, subtree) = match text.strip_suffix(".*") {
            Some(prefix) => (prefix, true),
            None => (text, false),
        };
        let valid = !path.is_empty()
            && path.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c == '_' || c.is_alphanumeric())
            });
        if !valid {
            return Err(PatternError(text.to_owned()));
        }
        Ok(Pattern {
            path: path.to_owned(),
            subtree,
        })
    }

    fn matches(&self, full: &str) -> bool {
        full == self.path
            || (self.subtree
                && full.len() > self.path.len()
                && full.starts_with(&self.path)
                && full.as_bytes()[self.path.len()] == b'.')
    }
}

/// A `[scan] allow` or `deny` entry that is not a dotted name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid global pattern `{0}`: expected a dotted name such as `mypkg.models.Net` or `mypkg.*`"
)]
pub struct PatternError(pub String);

/// The judge of globals.
#[derive(Debug, Clone)]
pub struct GlobalPolicy {
    deny: HashSet<String>,
    allow: HashMap<(String, String), Uses>,
    user_allow: Vec<Pattern>,
    user_deny: Vec<Pattern>,
    module_map: HashMap<String, String>,
    name_map: HashMap<(String, String), (String, String)>,
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
}

impl GlobalPolicy {
    /// The built-in lists plus the user's patterns.
    pub fn new(user_allow: &[String], user_deny: &[String]) -> Result<Self, PatternError> {
        Self::from_lists(DENYLIST, ALLOWLIST, user_allow, user_deny)
    }

    /// The lists given as text, in the formats of `data/denylist.txt` and `data/allowlist.txt`.
    fn from_lists(
        denylist: &str,
        allowlist: &str,
        user_allow: &[String],
        user_deny: &[String],
    ) -> Result<Self, PatternError> {
        let deny = data_lines(denylist).map(str::to_owned).collect();
        // A line without a valid uses column admits nothing beyond the import: fail closed.
        let allow = data_lines(allowlist)
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let key = (parts.next()?.to_owned(), parts.next()?.to_owned());
                let uses = parts.next().and_then(Uses::parse).unwrap_or(Uses::IMPORT);
                Some((key, uses))
            })
            .collect();
        let mut module_map = HashMap::new();
        let mut name_map = HashMap::new();
        for line in data_lines(COMPAT) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["module", old, new] => {
                    module_map.insert((*old).to_owned(), (*new).to_owned());
                }
                ["name", om, on, nm, nn] => {
                    name_map.insert(
                        ((*om).to_owned(), (*on).to_owned()),
                        ((*nm).to_owned(), (*nn).to_owned()),
                    );
                }
                _ => {}
            }
        }
        Ok(GlobalPolicy {
            deny,
            allow,
            user_allow: user_allow
                .iter()
                .map(|p| Pattern::parse(p))
                .collect::<Result<_, _>>()?,
            user_deny: user_deny
                .iter()
                .map(|p| Pattern::parse(p))
                .collect::<Result<_, _>>()?,
            module_map,
            name_map,
        })
    }

    /// Judges `module.name` for the worst use a pickle can make of it (called with
    /// arguments), under its own spelling and its Python 3 spelling.
    pub fn judge(&self, module: &str, name: &str) -> Verdict {
        self.judge_use(module, name, Uses::ALL)
    }

    /// The uses the allowlist admits `module.name` for, if it is on it (the user's patterns
    /// admit every use).
    pub fn admitted(&self, module: &str, name: &str) -> Option<Uses> {
        let full = format!("{module}.{name}");
        if self.user_allow.iter().any(|p| p.matches(&full)) {
            return Some(Uses::ALL);
        }
        self.allow
            .get(&(module.to_owned(), name.to_owned()))
            .copied()
    }

    /// Judges `module.name` used as `uses` says, under its own spelling and its Python 3
    /// spelling.
    pub fn judge_use(&self, module: &str, name: &str, uses: Uses) -> Verdict {
        let own = self.judge_one(module, name, uses);
        let mapped = match self.name_map.get(&(module.to_owned(), name.to_owned())) {
            Some((m, n)) => Some((m.clone(), n.clone())),
            None => self
                .module_map
                .get(module)
                .map(|m| (m.clone(), name.to_owned())),
        };
        let Some((m, n)) = mapped else {
            return own;
        };
        match (own, self.judge_one(&m, &n, uses)) {
            (unsafe_ @ Verdict::Unsafe { .. }, _) => unsafe_,
            (_, Verdict::Unsafe { reason }) => Verdict::Unsafe {
                reason: format!("{reason} (as Python 2's {module}.{name} loads as {m}.{n})"),
            },
            // The Python 2 name exists only under its Python 3 spelling, which is what loads.
            (_, mapped) => mapped,
        }
    }

    fn judge_one(&self, module: &str, name: &str, uses: Uses) -> Verdict {
        let full = format!("{module}.{name}");
        if let Some(reason) = self.denied(&full, name) {
            return Verdict::Unsafe { reason };
        }
        if let Some(p) = self.user_deny.iter().find(|p| p.matches(&full)) {
            return Verdict::Unsafe {
                reason: format!("denied by `{}` in [scan] deny", p.path),
            };
        }
        match self.admitted(module, name) {
            Some(admitted) if admitted.contains(uses) => Verdict::Safe,
            Some(admitted) => Verdict::Unadmitted {
                admitted,
                used: uses.without(admitted),
            },
            None => Verdict::Unknown,
        }
    }

    /// The denylist entry `full` falls under, either directly or by walking attributes: a
    /// dotted name such as `utils.os.system` reaches `os.system` whatever module holds it.
    fn denied(&self, full: &str, name: &str) -> Option<String> {
        if let Some(entry) = self.denied_path(full) {
            return Some(format!("on the denylist as `{entry}`"));
        }
        let mut rest = name;
        loop {
            if let Some(entry) = self.denied_path(rest) {
                return Some(format!("reaches `{entry}` through attribute `{name}`"));
            }
            match rest.split_once('.') {
                Some((_, tail)) => rest = tail,
                None => break,
            }
        }
        name.split('.')
            .find(|seg| {
                seg.len() > 4
                    && seg.starts_with("__")
                    && seg.ends_with("__")
                    && !HARMLESS_DUNDERS.contains(seg)
            })
            .map(|seg| format!("reflective attribute `{seg}`"))
    }

    fn denied_path<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.deny.contains(path) {
            return Some(path);
        }
        path.match_indices('.')
            .map(|(i, _)| &path[..i])
            .find(|prefix| self.deny.contains(*prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> GlobalPolicy {
        GlobalPolicy::new(&["mypkg.models.*".into()], &["numpy.mean".into()]).unwrap()
    }

    fn is_unsafe(module: &str, name: &str) -> bool {
        matches!(policy().judge(module, name), Verdict::Unsafe { .. })
    }

    #[test]
    fn dangerous_callables_are_unsafe() {
        for (m, n) in [
            ("os", "system"),
            ("posix", "system"),
            ("subprocess", "Popen"),
            ("builtins", "eval"),
            ("builtins", "getattr"),
            ("asyncio.unix_events", "_UnixSubprocessTransport"),
            ("pip", "main"),
            ("pkgutil", "resolve_name"),
            ("operator", "attrgetter"),
            ("torch.serialization", "load"),
            ("numpy", "load"),
            ("runpy", "_run_code"),
            ("code", "InteractiveInterpreter"),
            ("types", "CodeType"),
        ] {
            assert!(is_unsafe(m, n), "{m}.{n}");
        }
    }

    #[test]
    fn python2_aliases_are_mapped() {
        assert!(is_unsafe("__builtin__", "eval"));
        assert!(is_unsafe("cPickle", "loads"));
        assert!(is_unsafe("commands", "getoutput"));
        assert_eq!(policy().judge("__builtin__", "set"), Verdict::Safe);
    }

    #[test]
    fn attribute_walks_and_dunders_are_unsafe() {
        assert!(is_unsafe("numpy.testing._private.utils", "os.system"));
        assert!(is_unsafe("mylib", "helpers.subprocess.run"));
        assert!(is_unsafe(
            "collections",
            "OrderedDict.__class__.__subclasses__"
        ));
        assert!(!is_unsafe("copyreg", "__newobj__"));
    }

    #[test]
    fn ml_types_are_safe_and_the_rest_unknown() {
        let p = policy();
        // Called with arguments, as torch, pickle and NumPy write them.
        let called = Uses::IMPORT | Uses::CALL;
        assert_eq!(
            p.judge_use("torch._utils", "_rebuild_tensor_v2", called),
            Verdict::Safe
        );
        assert_eq!(
            p.judge_use("collections", "OrderedDict", called),
            Verdict::Safe
        );
        assert_eq!(
            p.judge_use("numpy.core.multiarray", "_reconstruct", called),
            Verdict::Safe
        );
        assert_eq!(p.judge("mypkg.models", "Net"), Verdict::Safe);
        assert_eq!(p.judge("mypkg.other", "Net"), Verdict::Unknown);
        assert!(matches!(p.judge("numpy", "mean"), Verdict::Unsafe { .. }));
        assert_eq!(p.judge("osgeo", "gdal"), Verdict::Unknown);
    }

    fn judged(m: &str, n: &str, uses: Uses) -> Verdict {
        policy().judge_use(m, n, uses)
    }

    #[test]
    fn uses_parse_and_print_as_the_allowlist_writes_them() {
        let u = Uses::parse("new,build").unwrap();
        assert_eq!(u, Uses::IMPORT | Uses::NEW | Uses::BUILD);
        assert_eq!(u.to_string(), "import,new,build");
        assert_eq!(Uses::parse("import").unwrap(), Uses::IMPORT);
        assert_eq!(Uses::parse("new,exec"), None);
        assert_eq!(Uses::of_opcode("NEWOBJ_EX"), Uses::NEW);
        assert_eq!(Uses::of_opcode("BUILD"), Uses::BUILD);
        assert_eq!(Uses::of_opcode("REDUCE"), Uses::CALL);
        assert_eq!(Uses::of_opcode("INST"), Uses::CALL);
        assert_eq!(
            Uses::ALL.without(Uses::IMPORT | Uses::CALL).to_string(),
            "new,build"
        );
    }

    const LISTS_DENY: &str = "os\n";
    const LISTS_ALLOW: &str = "lib.models Model new,build  # lib==1\n\
                               lib.cfg Config new,build,call  # lib==1\n\
                               lib.typing Alias import\n\
                               lib.broken Column\n";

    #[test]
    fn an_entry_admitted_for_instantiation_is_not_admitted_for_calls() {
        let p = GlobalPolicy::from_lists(LISTS_DENY, LISTS_ALLOW, &[], &[]).unwrap();
        let inst = Uses::IMPORT | Uses::NEW | Uses::BUILD;
        assert_eq!(p.judge_use("lib.models", "Model", inst), Verdict::Safe);
        assert_eq!(
            p.judge_use("lib.models", "Model", Uses::IMPORT | Uses::CALL),
            Verdict::Unadmitted {
                admitted: inst,
                used: Uses::CALL
            }
        );
        assert_eq!(
            p.judge_use("lib.cfg", "Config", Uses::ALL),
            Verdict::Safe,
            "shown inert when called, admitted for calls"
        );
        assert_eq!(
            p.judge_use("lib.typing", "Alias", Uses::IMPORT),
            Verdict::Safe
        );
        assert!(matches!(
            p.judge_use("lib.typing", "Alias", Uses::IMPORT | Uses::NEW),
            Verdict::Unadmitted { .. }
        ));
        // The worst use is what `judge` assumes.
        assert!(matches!(
            p.judge("lib.models", "Model"),
            Verdict::Unadmitted { .. }
        ));
    }

    #[test]
    fn an_allowlist_line_without_a_valid_uses_column_admits_only_the_import() {
        let p = GlobalPolicy::from_lists(LISTS_DENY, LISTS_ALLOW, &[], &[]).unwrap();
        assert_eq!(
            p.judge_use("lib.broken", "Column", Uses::IMPORT),
            Verdict::Safe
        );
        assert!(matches!(
            p.judge_use("lib.broken", "Column", Uses::IMPORT | Uses::NEW),
            Verdict::Unadmitted { .. }
        ));
    }

    #[test]
    fn user_patterns_admit_every_use() {
        assert_eq!(judged("mypkg.models", "Net", Uses::ALL), Verdict::Safe);
    }

    #[test]
    fn the_built_in_allowlist_parses_with_a_uses_column_on_every_line() {
        for line in data_lines(ALLOWLIST) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(parts.len(), 3, "{line}");
            assert!(Uses::parse(parts[2]).is_some(), "{line}");
        }
    }

    #[test]
    fn no_allowlist_entry_is_on_the_denylist() {
        let p = GlobalPolicy::new(&[], &[]).unwrap();
        for line in data_lines(ALLOWLIST) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let (m, n) = (parts[0], parts[1]);
            assert!(
                !matches!(p.judge_use(m, n, Uses::IMPORT), Verdict::Unsafe { .. }),
                "{m}.{n} is on both lists"
            );
        }
    }

    #[test]
    fn lookups_and_type_builders_are_never_admitted_for_calls() {
        let p = GlobalPolicy::new(&[], &[]).unwrap();
        for (m, n) in [
            ("operator", "getitem"),
            ("_operator", "getitem"),
            ("builtins", "type"),
            ("__builtin__", "type"),
        ] {
            assert_ne!(
                p.judge_use(m, n, Uses::IMPORT | Uses::CALL),
                Verdict::Safe,
                "{m}.{n}"
            );
        }
    }

    fn all_unsafe(cases: &[(&str, &str)]) {
        let p = GlobalPolicy::new(&[], &[]).unwrap();
        for (m, n) in cases {
            // Unsafe whatever the use, even imported only.
            for uses in [Uses::IMPORT, Uses::ALL] {
                assert!(
                    matches!(p.judge_use(m, n, uses), Verdict::Unsafe { .. }),
                    "{m}.{n} as {uses}"
                );
            }
        }
    }

    #[test]
    fn indirect_invokers_are_unsafe() {
        all_unsafe(&[
            ("builtins", "map"),
            ("__builtin__", "map"),
            ("builtins", "filter"),
            ("builtins", "sorted"),
            ("builtins", "iter"),
            ("builtins", "next"),
            ("itertools", "starmap"),
            ("itertools", "accumulate"),
            ("operator", "call"),
            ("_operator", "call"),
            ("operator", "methodcaller"),
            ("operator", "attrgetter"),
            ("operator", "itemgetter"),
            ("functools", "reduce"),
            ("_functools", "reduce"),
            ("functools", "cmp_to_key"),
            ("functools", "partial"),
            ("weakref", "finalize"),
            ("contextlib", "ExitStack"),
            ("concurrent.futures", "ThreadPoolExecutor"),
            ("numpy", "vectorize"),
            ("numpy", "frompyfunc"),
            ("joblib", "delayed"),
        ]);
    }

    #[test]
    fn string_evaluators_are_unsafe() {
        all_unsafe(&[
            ("typing", "_eval_type"),
            ("typing", "ForwardRef"),
            ("typing", "get_type_hints"),
            ("string", "Formatter"),
            ("string", "Formatter.get_field"),
            ("dataclasses", "_create_fn"),
            ("collections", "namedtuple"),
            ("ast", "literal_eval"),
            ("pandas", "eval"),
            ("pandas.core.computation.eval", "eval"),
            ("numpy.lib.utils", "safe_eval"),
            ("sympy", "sympify"),
            ("numexpr", "evaluate"),
            ("jinja2", "Template"),
            ("hydra.utils", "instantiate"),
        ]);
    }

    #[test]
    fn namespace_recovery_is_unsafe() {
        all_unsafe(&[
            ("builtins", "__builtins__"),
            ("builtins", "globals"),
            ("builtins", "vars"),
            ("builtins", "object.__subclasses__"),
            ("builtins", "type.__subclasses__"),
            ("numpy", "__dict__"),
            ("torch", "nn.__dict__"),
            ("collections", "OrderedDict.__init__.__globals__"),
            ("gc", "get_objects"),
            ("gc", "get_referrers"),
            ("sys", "modules"),
            ("inspect", "currentframe"),
            ("traceback", "walk_stack"),
            ("copy", "deepcopy"),
        ]);
    }

    #[test]
    fn writers_that_plant_startup_hooks_are_unsafe() {
        all_unsafe(&[
            ("numpy", "savetxt"),
            ("numpy", "save"),
            ("numpy", "ndarray.tofile"),
            ("numpy.lib.format", "open_memmap"),
            ("logging", "FileHandler"),
            ("logging", "basicConfig"),
            ("logging.handlers", "RotatingFileHandler"),
            ("logging.config", "dictConfig"),
            ("shutil", "copyfile"),
            ("tempfile", "NamedTemporaryFile"),
            ("pathlib", "Path.write_text"),
            ("pathlib", "PosixPath.write_text"),
            ("pathlib._local", "PosixPath.write_bytes"),
            ("pandas", "DataFrame.to_csv"),
            ("joblib", "dump"),
            ("py_compile", "compile"),
            ("zipapp", "create_archive"),
        ]);
    }

    #[test]
    fn native_code_and_second_stage_loaders_are_unsafe() {
        all_unsafe(&[
            ("torch.fx.graph_module", "reduce_graph_module"),
            ("torch.fx.graph_module", "reduce_package_graph_module"),
            ("torch.fx.graph_module", "_forward_from_src"),
            ("torch.ops", "load_library"),
            ("torch.classes", "load_library"),
            ("torch._ops", "ops.load_library"),
            ("torch.utils._config_module", "ConfigModule.load_config"),
            ("torch.fx.experimental.symbolic_shapes", "ShapeEnv"),
            ("joblib.numpy_pickle_compat", "read_zfile"),
            ("joblib.numpy_pickle", "NDArrayWrapper"),
            ("joblib.numpy_pickle", "ZNDArrayWrapper"),
            ("transformers", "AutoModel.from_pretrained"),
            (
                "transformers.dynamic_module_utils",
                "get_class_from_dynamic_module",
            ),
            ("huggingface_hub", "hf_hub_download"),
            ("ctypes", "CDLL"),
            ("_ctypes", "dlopen"),
            ("numpy.ctypeslib", "load_library"),
            ("importlib", "import_module"),
            ("runpy", "run_path"),
            ("code", "interact"),
            ("pty", "spawn"),
            ("marshal", "loads"),
            ("nltk.data", "load"),
            ("gensim.utils", "unpickle"),
            ("statsmodels.iolib.smpickle", "load_pickle"),
            ("spacy", "load"),
            ("keras.layers", "Lambda"),
        ]);
    }

    #[test]
    fn stdlib_modules_removed_from_newer_pythons_are_still_unsafe() {
        // A pickle can be loaded by any Python; these still load on the versions that had them.
        all_unsafe(&[
            ("imp", "load_source"),
            ("commands", "getoutput"),
            ("popen2", "popen3"),
            ("distutils.spawn", "spawn"),
            ("distutils.file_util", "write_file"),
            ("lib2to3.pgen2.grammar", "Grammar.loads"),
            ("asynchat", "async_chat"),
            ("asyncore", "file_dispatcher"),
            ("smtpd", "PureProxy"),
            ("telnetlib", "Telnet"),
            ("pipes", "Template"),
            ("cgi", "FieldStorage"),
            ("mailcap", "findmatch"),
            ("uu", "decode"),
            ("binhex", "hexbin"),
            ("parser", "compilest"),
        ]);
    }

    #[test]
    fn user_cannot_allow_a_denied_global() {
        let p = GlobalPolicy::new(&["os.*".into()], &[]).unwrap();
        assert!(matches!(p.judge("os", "system"), Verdict::Unsafe { .. }));
    }

    #[test]
    fn bad_patterns_are_rejected() {
        assert!(GlobalPolicy::new(&["my pkg".into()], &[]).is_err());
        assert!(GlobalPolicy::new(&[], &["".into()]).is_err());
    }
}
