// cli/image: `berth image pull|import|export|ls|inspect|rm|prune|mount|umount` — each parses
// its flags and calls one function of the images library.
#include <unistd.h>

#include <iomanip>
#include <iostream>

#include "cli/cli.hpp"
#include "images/images.hpp"
#include "images/registry.hpp"

namespace berth::cli {

namespace {

images::Store storeOf(const Context& ctx) { return images::Store(images::storeRoot(ctx.global.store)); }

std::string humanSize(int64_t n) {
    const char* units[] = {"B", "kB", "MB", "GB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1000 && u < 3) v /= 1000, u++;
    std::ostringstream out;
    out << std::fixed << std::setprecision(u ? 1 : 0) << v << " " << units[u];
    return out.str();
}

void addPull(CLI::App* img, Context& ctx) {
    static images::PullOptions o;
    auto* sub = img->add_subcommand("pull", "pull an image from a registry");
    sub->add_option("image", o.reference, "image reference (name[:tag] or name@digest)")->required();
    sub->add_option("--platform", o.platform, "os/arch[/variant] to select from an index (default linux/amd64)");
    sub->add_option("--authfile", o.authFile, "auth.json with registry credentials");
    sub->add_flag("--insecure", o.insecure, "use plain http (no TLS)");
    sub->add_option("-j,--jobs", o.jobs, "concurrent layer downloads")->capture_default_str();
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            o.progress = ::isatty(STDERR_FILENO);
            ASSIGN_OR_RETURN(images::ImageRecord rec, images::pull(storeOf(ctx), o));
            std::cout << rec.name << " " << rec.digest << "\n";
            return 0;
        };
    });
}

void addImport(CLI::App* img, Context& ctx) {
    static std::string path, name;
    auto* sub = img->add_subcommand("import", "import an OCI layout or docker-archive (dir or tar)");
    sub->add_option("path", path, "OCI layout dir/tar or docker-archive tar")->required();
    sub->add_option("name", name, "name to give the image (default: from the archive)");
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(auto recs, images::importImage(storeOf(ctx), path, name));
            for (const auto& r : recs) std::cout << r.name << " " << r.digest << "\n";
            return 0;
        };
    });
}

void addExport(CLI::App* img, Context& ctx) {
    static std::string image, dir;
    auto* sub = img->add_subcommand("export", "write an image as an OCI layout directory");
    sub->add_option("image", image, "image")->required();
    sub->add_option("dir", dir, "target directory")->required();
    sub->callback([&ctx] { ctx.action = statusAction([&ctx] { return images::exportImage(storeOf(ctx), image, dir); }); });
}

void addLs(CLI::App* img, Context& ctx) {
    static std::string format = "table";
    auto* sub = img->add_subcommand("ls", "list the images in the store");
    sub->alias("list");
    sub->add_option("-f,--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(auto list, images::listImages(storeOf(ctx)));
            if (format == "json") {
                nlohmann::json j = nlohmann::json::array();
                for (const auto& i : list)
                    j.push_back({{"name", i.name}, {"digest", i.digest}, {"size", i.size}, {"layers", i.layers}});
                std::cout << j.dump(2) << "\n";
                return 0;
            }
            std::cout << std::left << std::setw(50) << "NAME" << std::setw(21) << "DIGEST" << "SIZE\n";
            for (const auto& i : list)
                std::cout << std::setw(50) << i.name << std::setw(21) << i.digest.substr(7, 12) << humanSize(i.size) << "\n";
            return 0;
        };
    });
}

void addInspect(CLI::App* img, Context& ctx) {
    static std::string image;
    auto* sub = img->add_subcommand("inspect", "print an image's manifest and config as JSON");
    sub->add_option("image", image, "image")->required();
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(auto j, images::inspectImage(storeOf(ctx), image));
            std::cout << j.dump(2) << "\n";
            return 0;
        };
    });
}

void addRm(CLI::App* img, Context& ctx) {
    static std::vector<std::string> names;
    auto* sub = img->add_subcommand("rm", "remove image names (blobs go with prune)");
    sub->add_option("image", names, "image")->required()->allow_extra_args(true);
    sub->callback([&ctx] {
        ctx.action = statusAction([&ctx]() -> Status {
            for (const auto& n : names) TRY(images::removeImage(storeOf(ctx), n));
            return {};
        });
    });
}

void addPrune(CLI::App* img, Context& ctx) {
    auto* sub = img->add_subcommand("prune", "remove blobs and snapshots no image needs");
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(auto r, storeOf(ctx).prune());
            std::cout << "removed " << r.blobs << " blobs (" << humanSize(static_cast<int64_t>(r.bytes)) << ") and "
                      << r.snapshots << " snapshots\n";
            return 0;
        };
    });
}

void addMount(CLI::App* img, Context& ctx) {
    static std::string image, dir, udir;
    auto* sub = img->add_subcommand("mount", "mount an image's merged view read-only on DIR");
    sub->add_option("image", image, "image")->required();
    sub->add_option("dir", dir, "mount point")->required();
    sub->callback([&ctx] { ctx.action = statusAction([&ctx] { return images::mountImage(storeOf(ctx), image, dir); }); });
    auto* um = img->add_subcommand("umount", "unmount what image mount mounted");
    um->alias("unmount");
    um->add_option("dir", udir, "mount point")->required();
    um->callback([&ctx] { ctx.action = statusAction([] { return images::unmountImage(udir); }); });
}

}  // namespace

void addImage(CLI::App& app, Context& ctx) {
    auto* img = app.add_subcommand("image", "manage images: pull, import, export, ls, inspect, rm, prune, mount");
    img->require_subcommand(1);
    addPull(img, ctx);
    addImport(img, ctx);
    addExport(img, ctx);
    addLs(img, ctx);
    addInspect(img, ctx);
    addRm(img, ctx);
    addPrune(img, ctx);
    addMount(img, ctx);
}

void addBundle(CLI::App& app, Context& ctx) {
    static runtime::BundleOptions o;
    static bool remove = false;
    auto* sub = app.add_subcommand("bundle", "make an OCI bundle from an image (--remove: take one down)");
    sub->add_flag("--remove", remove, "unmount and remove a bundle made by berth bundle");
    sub->add_option("image", o.image, "IMAGE, or DIR with --remove")->required();
    sub->add_option("dir", o.dir, "DIR");
    sub->add_option("command", o.args, "after --: the command to run instead of the image's Cmd");
    sub->callback([&ctx] {
        ctx.action = statusAction([&ctx]() -> Status {
            if (remove) {
                if (!o.dir.empty() || !o.args.empty()) return Error::make("bundle --remove: want exactly one DIR");
                return runtime::removeBundle(o.image);
            }
            if (o.dir.empty()) return Error::make("bundle: want IMAGE DIR [-- CMD ARG...]");
            runtime::BundleOptions bo = o;
            bo.defaultCommandIfNone = true;
            return runtime::createBundle(ctx.global, bo);
        });
    });
}

}  // namespace berth::cli
