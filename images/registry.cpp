#include "images/registry.hpp"
namespace berth::images {
Result<ImageRecord> pull(const Store&, const PullOptions&) { return Error::make("pull: not implemented yet"); }
}
