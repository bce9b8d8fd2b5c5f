#include "images/manifest.hpp"

#include "common/fs.hpp"
#include "common/json.hpp"
#include "images/digest.hpp"

namespace berth::images {

using nlohmann::json;

std::string Platform::str() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }

Result<Platform> parsePlatform(const std::string& s) {
    auto parts = fs::split(s, '/');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
        return Error::make("invalid platform \"", s, "\": want os/arch[/variant]");
    Platform p{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
    return p;
}

namespace {

Result<json> parseJson(const std::string& text, const char* what) {
    ASSIGN_OR_RETURN(json j, berth::parseJson(text, what));
    if (!j.is_object()) return Error::make(what, ": not a JSON object");
    return j;
}

Result<Descriptor> parseDescriptor(const json& j, const char* what) {
    if (!j.is_object()) return Error::make(what, ": descriptor is not an object");
    Descriptor d;
    try {
        d.mediaType = j.value("mediaType", "");
        d.digest = j.at("digest").get<std::string>();
        d.size = j.value("size", int64_t{0});
        if (j.contains("platform") && j["platform"].is_object()) {
            const json& p = j["platform"];
            d.platform = Platform{p.value("os", ""), p.value("architecture", ""), p.value("variant", "")};
        }
        if (j.contains("annotations") && j["annotations"].is_object())
            d.annotations = j["annotations"].get<std::map<std::string, std::string>>();
    } catch (const json::exception& e) {
        return Error::make(what, ": bad descriptor: ", e.what());
    }
    TRY_CTX(parseDigest(d.digest), what);
    if (d.size < 0) return Error::make(what, ": negative size");
    return d;
}

std::vector<std::string> stringList(const json& j, const char* key) {
    std::vector<std::string> out;
    if (j.contains(key) && j[key].is_array()) {
        for (const auto& v : j[key])
            if (v.is_string()) out.push_back(v.get<std::string>());
    }
    return out;
}

}  // namespace

Result<DocKind> documentKind(const std::string& text, const std::string& contentType) {
    ASSIGN_OR_RETURN(json j, parseJson(text, "manifest"));
    std::string mt = j.value("mediaType", contentType);
    if (mt == kMediaOciIndex || mt == kMediaDockerList) return DocKind::Index;
    if (mt == kMediaOciManifest || mt == kMediaDockerManifest) return DocKind::Manifest;
    if (j.contains("manifests")) return DocKind::Index;
    if (j.contains("layers")) return DocKind::Manifest;
    return Error::make("unsupported manifest media type \"", mt, "\"");
}

Result<Manifest> parseManifest(const std::string& text) {
    ASSIGN_OR_RETURN(json j, parseJson(text, "manifest"));
    Manifest m;
    m.mediaType = j.value("mediaType", kMediaOciManifest);
    if (!j.contains("config")) return Error::make("manifest: no config");
    ASSIGN_OR_RETURN(m.config, parseDescriptor(j["config"], "manifest config"));
    if (!j.contains("layers") || !j["layers"].is_array()) return Error::make("manifest: no layers array");
    for (const auto& l : j["layers"]) {
        ASSIGN_OR_RETURN(Descriptor d, parseDescriptor(l, "manifest layer"));
        if (!d.mediaType.empty() && !isLayerMediaType(d.mediaType))
            return Error::make("manifest layer ", d.digest, ": unsupported media type \"", d.mediaType, "\"");
        m.layers.push_back(std::move(d));
    }
    return m;
}

Result<Index> parseIndex(const std::string& text) {
    ASSIGN_OR_RETURN(json j, parseJson(text, "index"));
    Index idx;
    idx.mediaType = j.value("mediaType", kMediaOciIndex);
    if (!j.contains("manifests") || !j["manifests"].is_array()) return Error::make("index: no manifests array");
    for (const auto& m : j["manifests"]) {
        ASSIGN_OR_RETURN(Descriptor d, parseDescriptor(m, "index entry"));
        idx.manifests.push_back(std::move(d));
    }
    return idx;
}

json descriptorJson(const Descriptor& d) {
    json j{{"mediaType", d.mediaType}, {"digest", d.digest}, {"size", d.size}};
    if (!d.annotations.empty()) j["annotations"] = d.annotations;
    if (d.platform) {
        j["platform"] = {{"os", d.platform->os}, {"architecture", d.platform->architecture}};
        if (!d.platform->variant.empty()) j["platform"]["variant"] = d.platform->variant;
    }
    return j;
}

Result<Descriptor> selectPlatform(const Index& idx, const Platform& want) {
    std::string seen;
    for (const auto& d : idx.manifests) {
        if (!d.platform) continue;
        seen += (seen.empty() ? "" : ", ") + d.platform->str();
        if (d.platform->os != want.os || d.platform->architecture != want.architecture) continue;
        if (!want.variant.empty() && d.platform->variant != want.variant) continue;
        return d;
    }
    return Error::make("no manifest for platform ", want.str(), " in the index (has: ",
                       seen.empty() ? "none" : seen, ")");
}

std::vector<std::string> chainIds(const Manifest& m) {
    std::vector<std::string> out;
    for (const auto& l : m.layers)
        out.push_back(out.empty() ? l.digest : "sha256:" + sha256Hex(out.back() + " " + l.digest));
    return out;
}

bool isLayerMediaType(const std::string& mt) {
    return mt == kMediaOciLayerTar || mt == kMediaOciLayerGzip || mt == kMediaOciLayerZstd ||
           mt == kMediaDockerLayerGzip || mt == "application/vnd.docker.image.rootfs.diff.tar" ||
           mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
}

Result<ImageConfig> parseImageConfig(const std::string& text) {
    ASSIGN_OR_RETURN(json j, parseJson(text, "image config"));
    ImageConfig c;
    try {
        c.os = j.value("os", "");
        c.architecture = j.value("architecture", "");
        const json& cfg = j.contains("config") && j["config"].is_object() ? j["config"] : json::object();
        c.user = cfg.value("User", "");
        c.workingDir = cfg.value("WorkingDir", "");
        c.stopSignal = cfg.value("StopSignal", "");
        c.env = stringList(cfg, "Env");
        c.entrypoint = stringList(cfg, "Entrypoint");
        c.cmd = stringList(cfg, "Cmd");
        if (cfg.contains("Labels") && cfg["Labels"].is_object())
            for (auto& [k, v] : cfg["Labels"].items())
                if (v.is_string()) c.labels[k] = v.get<std::string>();
        if (j.contains("rootfs") && j["rootfs"].is_object()) c.diffIds = stringList(j["rootfs"], "diff_ids");
    } catch (const json::exception& e) {
        return Error::make("image config: ", e.what());
    }
    return c;
}

}  // namespace berth::images
