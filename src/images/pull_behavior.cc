// Placeholder while the module is being written.
namespace berth::images {}
