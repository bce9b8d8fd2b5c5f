// image_bundle: bundles made from images (berth bundle, run --image). The images library does
// the work; this file adds what only the runtime knows — its default spec and the state root.
#include "common/fs.hpp"
#include "common/log.hpp"
#include "images/bundle.hpp"
#include "images/store.hpp"
#include "runtime/container.hpp"
#include "runtime/runtime.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime {

std::string imageBundleDir(const std::string& root, const std::string& id) {
    return root + "/.image-bundles/" + id;
}

Status createBundle(const GlobalOptions& g, const BundleOptions& o) {
    images::Store store(images::storeRoot(g.store));
    images::BundleRequest req{o.image, o.dir, spec::defaultSpec(false), o.args};
    req.baseCommandIfNone = o.defaultCommandIfNone;
    ASSIGN_OR_RETURN(images::BundleMade made, images::createBundle(store, req));
    if (made.baseCommand && o.defaultCommandIfNone)
        log::warn("the image ", o.image, " has no Entrypoint or Cmd: ", o.dir,
                  "/config.json runs the default \"sh\" (give a command after --, or edit process.args)");
    return {};
}

Status removeBundle(const std::string& dir) { return images::removeBundle(dir); }

// run --image: a fresh bundle for this container, recorded in its state.
Result<std::string> prepareImageBundle(const GlobalOptions& g, const RunOptions& o) {
    TRY(state::validateId(o.create.id));
    std::string dir = imageBundleDir(g.root, o.create.id);
    TRY(fs::mkdirAll(g.root + "/.image-bundles", 0700));
    if (fs::exists(g.root + "/" + o.create.id))
        return Error(EEXIST, strCat("container \"", o.create.id, "\" already exists")).hideErrno();
    // Left by a run that died between making the bundle and recording the container.
    if (fs::exists(dir)) TRY(images::removeBundle(dir));
    TRY(createBundle(g, BundleOptions{o.image, dir, o.args}));
    return dir;
}

}  // namespace berth::runtime
