//! Every rule this crate reports, with its default severity and what to do about it.

aigate_report::rules! {
    /// Every rule of `aigate scan`.
    RULES;
    PICKLE_UNSAFE_GLOBAL = "pickle-unsafe-global", Critical,
        "a pickle imports or calls a global that can run code, reflect, touch files or the network, or load a second stage",
        "do not load this file; get the model from its publisher again, or re-save it from trusted code as safetensors";
    PICKLE_UNKNOWN_GLOBAL = "pickle-unknown-global", Medium,
        "a pickle imports a global that is not on the allowlist of known ML data types",
        "if the global is your own class and you trust its code, allow it under [scan] allow in aigate.toml";
    PICKLE_INDIRECT_CALL = "pickle-indirect-call", High,
        "a pickle calls something that is not a named global: the result of another call or a persistent object",
        "benign serialisers never do this; treat the file as hostile";
    PICKLE_DYNAMIC_IMPORT = "pickle-dynamic-import", High,
        "STACK_GLOBAL imports a global whose name is computed at load time",
        "benign serialisers write names as constants; treat the file as hostile";
    PICKLE_EXTENSION_CODE = "pickle-extension-code", High,
        "a pickle imports a global by copyreg extension code (EXT1/2/4), whose target depends on the loading process",
        "no common ML library registers extension codes; treat the file as hostile";
    PICKLE_GLOBAL_MUTATION = "pickle-global-mutation", High,
        "BUILD sets attributes on a class or function itself, changing code other objects use",
        "benign pickles build instances, never globals; treat the file as hostile";
    PICKLE_EMBEDDED = "pickle-embedded-pickle", Info,
        "a byte or text payload inside a pickle is itself a pickle (raw, base64 or hex)",
        "its imports are reported with their own rules (at most high: it runs only if a second stage loads it); check why the artefact carries a pickle inside";
    PICKLE_MALFORMED = "pickle-malformed", Medium,
        "the pickle is invalid from an offset on; loaders stop there, after running everything before",
        "findings before the offset still apply; a truncated or corrupted file should be fetched again";
    PICKLE_BUDGET_EXCEEDED = "pickle-budget-exceeded", Medium,
        "the pickle exceeds an analysis limit (opcodes, stack, memo, nesting); the rest was not analysed",
        "real checkpoints stay far below these limits; inspect the file, or raise the limit if it is legitimate";
    PICKLE_TRAILING_DATA = "pickle-trailing-data", Low,
        "bytes after the last pickle in a stream are not a pickle",
        "loaders ignore them, but a custom loader could read them; check where they come from";
    ZIP_MALFORMED = "zip-malformed", Medium,
        "a zip archive's structure is broken, so some members could not be located or read",
        "re-create the archive; members that could be read were scanned";
    ZIP_NAME_MISMATCH = "zip-name-mismatch", High,
        "a member's local header and the central directory name it differently",
        "scanners and loaders that read different headers see different files; treat the archive as hostile";
    ZIP_DUPLICATE_ENTRY = "zip-duplicate-entry", High,
        "two members of a zip archive have the same name",
        "loaders disagree on which copy they read; every copy was scanned; re-create the archive";
    ZIP_OVERLAPPING_ENTRIES = "zip-overlapping-entries", High,
        "members of a zip archive share or overlap their data",
        "no archiver writes this; it is a zip bomb or a way to show scanners and loaders different bytes; treat the archive as hostile";
    ZIP_UNREFERENCED_LOCAL_RECORD = "zip-unreferenced-local-record", High,
        "a zip archive holds a local file record its central directory does not list: streaming readers (and other implementations) see a member that directory readers do not",
        "two readers see two archives; treat it as hostile; the hidden member's data was analysed as its local header describes it";
    ZIP_ENCRYPTED_ENTRY = "zip-encrypted-entry", Medium,
        "a zip member is marked encrypted",
        "PyTorch ignores the flag, so the bytes were analysed as they are; really encrypted data (low) cannot be read by any loader without the password";
    ZIP_UNSUPPORTED_COMPRESSION = "zip-unsupported-compression", Medium,
        "a zip member uses a compression method aigate cannot decode, so it was not analysed",
        "re-create the archive with stored or deflate members";
    ZIP_BAD_CRC = "zip-bad-crc", Low,
        "a zip member's content does not match its CRC-32",
        "the member was analysed as it is; a corrupted or edited archive should be fetched again";
    SEVENZ_MALFORMED = "sevenz-malformed", Medium,
        "a 7z archive's structure is broken (a header, a block or a member that cannot be decoded, a CRC that does not match), so some members could not be listed or read",
        "re-create the archive; members that could be read were scanned";
    SEVENZ_ENCRYPTED_ENTRY = "sevenz-encrypted-entry", Low,
        "a 7z member is encrypted (AES-256), so no loader reads it without the password and it was not analysed",
        "re-create the archive without encryption, or scan the files before they are encrypted";
    SEVENZ_ENCRYPTED_HEADER = "sevenz-encrypted-header", Medium,
        "a 7z archive's header is encrypted: without the password not even its listing can be read, so nothing in it was analysed",
        "scan the files before they are archived, or re-create the archive without header encryption";
    SEVENZ_UNSUPPORTED_COMPRESSION = "sevenz-unsupported-compression", Medium,
        "a 7z member is compressed with a coder aigate does not decode (only copy, LZMA, LZMA2, PPMd, BZip2 and the BCJ and delta filters are), so it was not analysed",
        "re-create the archive with 7-Zip's or py7zr's defaults (LZMA2)";
    NUMPY_MALFORMED = "numpy-malformed", Medium,
        "a .npy header cannot be parsed, so whether its data is a pickle is unknown",
        "re-save the array with numpy.save";
    SAFETENSORS_MALFORMED = "safetensors-malformed", Medium,
        "a safetensors header is broken: too large, not JSON, a tensor named twice, offsets that overlap, leave gaps or run past the file, or a byte length that does not match dtype and shape",
        "safetensors refuses such a file and other readers may read it differently; fetch it again or re-save it with safetensors";
    GGUF_MALFORMED = "gguf-malformed", Medium,
        "a GGUF file's header or metadata is broken: an unknown version or value type, a count or length past the end of the file, a bad alignment or tensor description",
        "llama.cpp refuses such a file and other readers may read it differently; fetch it again";
    TEMPLATE_UNSAFE_ACCESS = "template-unsafe-access", Critical,
        "a chat template reaches Python internals (dunder or private attributes, os, popen, builtins): code runs when a loader renders it",
        "do not load the model with this template; a real chat template only formats messages (CVE-2024-34359)";
    TEMPLATE_DYNAMIC_ACCESS = "template-dynamic-access", High,
        "a chat template builds attribute names at render time (|attr with a computed name, escaped or assembled dunder strings, character codes)",
        "this is how sandbox escapes hide; replace the template with the model family's published one";
    TEMPLATE_ESCAPE_GLOBAL = "template-escape-global", Medium,
        "a chat template uses a Jinja or Flask global that sandbox escapes start from (lipsum, cycler, joiner, self, config, request)",
        "real chat templates never need these; check where the template comes from";
    TEMPLATE_MALFORMED = "template-malformed", Medium,
        "a chat template cannot be tokenised to its end (an unclosed block, string or comment), so it was not fully analysed",
        "fix or replace the template; loaders that render it may read it differently";
    KERAS_LAMBDA = "keras-lambda", Critical,
        "a Keras model holds a Lambda layer or __lambda__ object: marshalled Python bytecode that runs when the model loads with safe_mode off",
        "do not load it with safe_mode=False or enable_unsafe_deserialization(); rebuild the layer in code you trust and re-save";
    KERAS_UNSAFE_OBJECT = "keras-unsafe-object", Critical,
        "a Keras configuration resolves an object that runs code or reads files when the model loads: a dangerous module or function (CVE-2025-1550), TFSMLayer (CVE-2026-1462), a file-fetching gadget",
        "do not load the model; get it from its publisher again";
    KERAS_EXTERNAL_REFERENCE = "keras-external-reference", High,
        "a Keras layer reads a file or URL named in its configuration at load time (a lookup vocabulary given as a path, CVE-2025-12058)",
        "a saved model carries its vocabulary inline; find out why this one points elsewhere before loading it";
    KERAS_CUSTOM_OBJECT = "keras-custom-object", Medium,
        "a Keras configuration names an object outside Keras: loading imports its module, or needs code the loading process registers",
        "if the module is your own and you trust it, allow it under [scan] allow; otherwise find out what it is";
    KERAS_MALFORMED = "keras-malformed", Medium,
        "a Keras archive's config.json, or a Keras HDF5 file's model_config or training_config attribute, is not JSON, so what the model loads is unknown",
        "re-save the model with model.save(\"model.keras\")";
    HDF5_MALFORMED = "hdf5-malformed", Medium,
        "an HDF5 file (or a file named .h5 or .hdf5) has no superblock, or its root group's object header or attributes point outside the file or are cut short, so whether it carries a Keras model configuration is unknown",
        "h5py and Keras may read it differently or refuse it; fetch the file again, or re-save the model as .keras";
    HDF5_UNSCANNABLE = "hdf5-unscannable", Medium,
        "an HDF5 file's root attributes use a structure aigate does not read (dense attribute storage, shared messages, a Keras attribute that is not a string), or exceed a reading limit, so whether it carries a Keras model configuration is unknown",
        "inspect its attributes with h5py (f.attrs, which reads metadata only) before loading it with Keras, or re-save the model as .keras";
    TORCHSCRIPT_CUSTOM_OP = "torchscript-custom-op", Medium,
        "a TorchScript model calls custom operators or classes (torch.ops.NS, torch.classes.NS outside PyTorch's own) that only a native library loaded by the loading process provides",
        "find out which library provides them before loading it: loading one runs its native code";
    HF_REMOTE_CODE = "hf-remote-code", High,
        "a Hugging Face configuration maps classes to modules shipped with the model (auto_map, custom_pipelines): trust_remote_code=True imports and runs them",
        "read the modules before loading with trust_remote_code=True, and pin the revision you read; prefer a model that transformers supports natively";
    HF_README_RUNS_CODE = "hf-readme-runs-code", Medium,
        "a Hugging Face model card tells its users to run code that comes with it or from elsewhere (python SCRIPT.py, bash SCRIPT.sh, curl … | sh, pip install from a URL)",
        "read what the command runs before running it, and pin the revision you read; a model that needs its own scripts to load is code, not weights";
    ONNX_EXTERNAL_DATA = "onnx-external-data", High,
        "an ONNX tensor's external data leads outside the model's folder (an absolute path, .., a link out) or its entry has keys the format does not define",
        "loading reads whatever file that names (CVE-2026-27489, CVE-2026-34445); keep external data beside the model, or re-save it with onnx.save_model(..., save_as_external_data=True)";
    ONNX_CUSTOM_OP = "onnx-custom-op", Medium,
        "an ONNX model uses operators from a domain no ONNX runtime ships, which only a custom-op library (native code) registered by the loading process provides",
        "find out which library provides the domain before registering it: it runs with your rights";
    ONNX_MALFORMED = "onnx-malformed", Medium,
        "a file named .onnx is not a protobuf ModelProto aigate can read (a field runs past its message, an invalid wire type, nesting too deep)",
        "onnx.checker refuses it and runtimes may read it differently; fetch it again";
    HYDRA_TARGET_UNSAFE = "hydra-target-unsafe", Critical,
        "a Hydra, OmegaConf or NeMo configuration's _target_ names a callable that runs code, touches files or the network (hydra.utils.instantiate imports and calls it)",
        "do not instantiate this configuration; a model's configuration names its own classes, never os or subprocess";
    HYDRA_TARGET_UNKNOWN = "hydra-target-unknown", Medium,
        "a Hydra, OmegaConf or NeMo configuration's _target_ names a callable that is not on the allowlist, which instantiating it imports and calls",
        "if the class is your own and you trust it, allow it under [scan] allow";
    TF_PYTHON_OP = "tf-python-op", Critical,
        "a TensorFlow graph calls a Python function of the loading process (PyFunc, PyFuncStateless, EagerPyFunc)",
        "do not load this SavedModel; graphs that ship for serving never call back into Python";
    TF_FILE_OP = "tf-file-op", High,
        "a TensorFlow graph reads or writes files or reaches the network (ReadFile, WriteFile, MatchingFiles, PrintV2 into a file, summary writers, file datasets, RPC)",
        "find out why the model touches files before loading it; a model's own variables are restored by its checkpoint ops, which are not reported";
    TF_MALFORMED = "tf-malformed", Medium,
        "a saved_model.pb or keras_metadata.pb is not a protobuf aigate can read",
        "fetch the SavedModel again, or re-export it";
    TFLITE_CUSTOM_OP = "tflite-custom-op", Medium,
        "a TensorFlow Lite model uses a custom operator that only an implementation registered by the loading process (native code) provides",
        "find out which library provides it before registering it";
    TFLITE_MALFORMED = "tflite-malformed", Medium,
        "a TensorFlow Lite flatbuffer's offsets point outside the file, so its operators cannot be read",
        "fetch the model again, or re-convert it";
    SERVING_CODE = "serving-code", High,
        "a serving archive or folder names code its server imports when it loads the model: a TorchServe handler shipped in the .mar, an MLflow loader_module or code path",
        "read the code before serving the model; prefer the server's built-in handlers and flavours";
    SERVING_REQUIREMENTS = "serving-requirements", Medium,
        "a TorchServe archive carries a requirements.txt that the server pip-installs when it loads the model",
        "check every requirement and index line: installing them runs their setup code; pin them with hashes, or install them yourself";
    TAR_MALFORMED = "tar-malformed", Medium,
        "a tar archive's structure is broken, so some members could not be read",
        "re-create the archive; members that could be read were scanned";
    TORCH_LEGACY_MALFORMED = "torch-legacy-malformed", Medium,
        "a PyTorch legacy tar checkpoint's storages or tensors record cannot be walked",
        "re-save the checkpoint with a current torch.save";
    COMPRESSION_CORRUPT = "compression-corrupt", Medium,
        "a compressed stream cannot be decoded to its end",
        "findings before the error still apply; fetch the file again";
    CONTAINER_BUDGET_EXCEEDED = "container-budget-exceeded", Medium,
        "a container exceeds a limit (nesting depth, members, decoded size); the rest was not analysed",
        "real artefacts stay far below these limits; inspect the file";
    FORMAT_UNRECOGNIZED = "format-unrecognized", Medium,
        "a file named like a pickle, PyTorch or joblib file holds no format aigate recognises",
        "loaders may still read it (with a compressor registered at run time, say); find out what it is before loading it";
    FORMAT_NOT_ANALYSED = "format-not-analysed", Medium,
        "a model format that can carry code or reach other files, which aigate does not analyse yet (ONNX Runtime .ort, TensorFlow, TensorRT, Core ML, OpenVINO, PaddlePaddle, MXNet, ExecuTorch, …)",
        "check the file with its framework's own tools before loading it, or allow this rule for the path in [rules] once you have";
    EXECUTABLE_FILE = "executable-file", High,
        "native code (an ELF, PE or Mach-O executable or shared library, a llamafile) among model or data files",
        "no model needs to ship native code; a custom-op library or a binary here runs with your rights: remove it, or build it from source you trust";
    SCRIPT_FILE = "script-file", Medium,
        "a script or compiled bytecode (Python, shell, PowerShell, batch, notebook, #! file) among model or data files",
        "loaders and READMEs run these (trust_remote_code, setup steps); read it before anything runs it, or keep code out of model folders";
    WALK_LINK_NOT_FOLLOWED = "walk-link-not-followed", Medium,
        "a link inside the scanned tree leads to a folder outside it, so its content was not analysed",
        "scan the folder it leads to, or replace the link with the files; a model folder has no reason to link out";
    WALK_SPECIAL_FILE = "walk-special-file", Low,
        "a pipe, socket or device inside the scanned tree was not read",
        "nothing loads a model from one; remove it, or name it on the command line to read it as a stream";
}
