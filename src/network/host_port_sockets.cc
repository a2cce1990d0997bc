#include "network/host_port_sockets.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace berth::network {

void HostPortSockets::hold(const std::string& taskId, const std::vector<PortBinding>& bindings) {
  std::vector<UniqueFd> fds;
  for (const auto& b : bindings) {
    UniqueFd s(socket(AF_INET, (b.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(b.hostPort));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (!s.valid() || bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      log::warn("cannot hold host port socket", {{"task", taskId}, {"port", b.hostPort}, {"protocol", b.protocol},
                                                 {"error", std::strerror(errno)}});
      continue;
    }
    fds.push_back(std::move(s));
  }
  std::lock_guard lock(mu_);
  auto& held = sockets_[taskId];
  for (auto& fd : fds) held.push_back(std::move(fd));
}

void HostPortSockets::release(const std::string& taskId) {
  std::lock_guard lock(mu_);
  sockets_.erase(taskId);
}

std::size_t HostPortSockets::openSockets() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [id, fds] : sockets_) n += fds.size();
  return n;
}

}  // namespace berth::network
