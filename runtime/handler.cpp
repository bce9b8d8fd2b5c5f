// The handler registry: which Handler runs a new container, and which one a recorded container
// belongs to. The lifecycle operations themselves are in their own files (create.cpp, ...).
#include "runtime/handler.hpp"

#include <map>

namespace berth::runtime {
namespace {

std::map<std::string, std::shared_ptr<Handler>>& registry() {
    static std::map<std::string, std::shared_ptr<Handler>> r;
    return r;
}

}  // namespace

Error Handler::unsupported(const char* verb, const HandledContainer& c) const {
    return Error(ENOTSUP, strCat("cannot ", verb, " container \"", c.st.id, "\": not supported by the \"", name(),
                                 "\" handler")).hideErrno();
}

void registerHandler(std::shared_ptr<Handler> h) {
    std::string name = h->name();
    registry()[name] = std::move(h);
}

Handler* findHandler(const std::string& name) {
    if (name.empty() || name == "linux") return &namespacesHandler();
    auto it = registry().find(name);
    return it == registry().end() ? nullptr : it->second.get();
}

Result<std::string> handlerFor(const GlobalOptions& g, const spec::Spec& s) {
    std::string name = g.handler;
    auto it = s.annotations.find(kHandlerAnnotation);
    if (it != s.annotations.end()) name = it->second;
    if (name.empty() || name == "linux") return std::string();
    if (!findHandler(name))
        return Error(EINVAL, strCat("config.json: annotation ", kHandlerAnnotation, "=\"", name,
                                    "\": no such handler in this berth")).hideErrno();
    return name;
}

Result<Handler*> handlerOf(const state::ContainerState& st) {
    if (Handler* h = findHandler(st.handler)) return h;
    return Error(EINVAL, strCat("container \"", st.id, "\": handler \"", st.handler, "\" is not available"))
        .hideErrno();
}

}  // namespace berth::runtime
