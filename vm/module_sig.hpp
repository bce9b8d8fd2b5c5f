// vm/module_sig: a kernel module's appended signature (what scripts/sign-file adds and the
// kernel checks at finit_module), and whether a guest kernel may load modules without it.
#pragma once

#include <string>
#include <string_view>

namespace berth::vm {

// `ko` without its appended signature ("<sig> <struct module_signature> ~Module signature
// appended~\n"), or `ko` as it is when it has none or the trailer does not add up (the guest
// then checks what it got, as before). Never reads outside `ko`.
std::string_view moduleWithoutSignature(std::string_view ko);

// From a kernel's config text: may the guest load unsigned modules? Not with
// CONFIG_MODULE_SIG_FORCE=y, nor when the config is unknown (empty): then modules keep their
// signatures.
bool unsignedModulesLoad(std::string_view kernelConfig);

}  // namespace berth::vm
