#include "agent/metadata_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "api/sigv4.h"
#include "common/fs_util.h"
#include "common/log.h"
#include "runtime/subprocess.h"

namespace berth::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using std::chrono::system_clock;

namespace {

struct Reply {
  int status = 200;
  std::string body;
};

Reply jsonReply(int status, const json& body) { return Reply{status, body.dump()}; }

// The metadata handlers' errors are JSON strings, as the ECS agent writes them.
Reply metadataError(int status, const std::string& message) { return jsonReply(status, json(message)); }

std::vector<std::string> splitPath(std::string_view target) {
  auto q = target.find('?');
  if (q != std::string_view::npos) target = target.substr(0, q);
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos < target.size()) {
    auto next = target.find('/', pos);
    if (next == std::string_view::npos) next = target.size();
    if (next > pos) parts.emplace_back(target.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

MetadataContext clockContext(const MetadataServerOptions& o, system_clock::time_point now) {
  MetadataContext ctx;
  ctx.region = o.region;
  ctx.availabilityZone = o.availabilityZone;
  ctx.now = now;
  struct timex tx {};
  int state = ::adjtimex(&tx);
  if (state >= 0) {
    ctx.clockErrorBoundMs = static_cast<double>(tx.maxerror) / 1000.0;  // maxerror is in microseconds
    ctx.clockSynchronized = state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
  }
  return ctx;
}

}  // namespace

Result<int> listenInNetworkNamespace(const std::string& netnsPath, const std::string& address, std::uint16_t port,
                                     std::uint16_t publicPort) {
  const auto timeout = std::chrono::seconds(10);
  const std::vector<std::string> nsenter = {"/usr/bin/nsenter", "--net=" + netnsPath};
  auto inNamespace = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), nsenter.begin(), nsenter.end());
    return runtime::runCommand(argv, timeout);
  };
  for (const auto& argv : {std::vector<std::string>{"/usr/sbin/ip", "link", "set", "lo", "up"},
                           std::vector<std::string>{"/usr/sbin/ip", "addr", "replace", address + "/32", "dev", "lo"}}) {
    auto r = inNamespace(argv);
    if (!r.ok()) return r.takeError();
    if (r->exitCode != 0)
      return Error::make(ErrorCode::kInternal, "cannot add the metadata address to the task namespace: " + r->err,
                         netnsPath);
  }
  if (publicPort != 0 && publicPort != port) {
    const std::vector<std::string> rule = {"-t", "nat", "OUTPUT", "-d", address + "/32", "-p", "tcp", "--dport",
                                           std::to_string(publicPort), "-j", "DNAT", "--to-destination",
                                           address + ":" + std::to_string(port)};
    auto withVerb = [&](const char* verb) {
      std::vector<std::string> argv = {"/usr/sbin/iptables", "-w", "5", rule[0], rule[1], verb};
      argv.insert(argv.end(), rule.begin() + 2, rule.end());
      return inNamespace(argv);
    };
    auto present = withVerb("-C");  // an agent restart finds the rule already there
    if (!present.ok()) return present.takeError();
    if (present->exitCode != 0) {
      auto added = withVerb("-A");
      if (!added.ok()) return added.takeError();
      if (added->exitCode != 0)
        return Error::make(ErrorCode::kInternal, "cannot redirect the metadata port in the task namespace: " + added->err,
                           netnsPath);
    }
  }
  in_addr addr{};
  if (::inet_pton(AF_INET, address.c_str(), &addr) != 1)
    return Error::make(ErrorCode::kInvalidParameter, "not an IPv4 address: " + address);

  // setns changes only the calling thread's namespace: do it on a thread of
  // its own that ends right after, so no other agent thread ever moves.
  Result<int> result = Error::make(ErrorCode::kInternal, "namespace thread did not run");
  std::thread t([&] {
    int nsfd = ::open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      result = ioError("cannot open network namespace", netnsPath, errno);
      return;
    }
    if (::setns(nsfd, CLONE_NEWNET) != 0) {
      result = ioError("cannot enter network namespace", netnsPath, errno);
      ::close(nsfd);
      return;
    }
    ::close(nsfd);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      result = ioError("cannot create socket in", netnsPath, errno);
      return;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr = addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 128) != 0) {
      result = ioError("cannot listen on " + address + ":" + std::to_string(port) + " in", netnsPath, errno);
      ::close(fd);
      return;
    }
    result = fd;
  });
  t.join();
  return result;
}

TaskCredentialsFetcher serverCredentialsFetcher(ServerClient& client,
                                                std::function<std::pair<std::string, std::string>()> identity) {
  return [&client, identity = std::move(identity)](const std::string& taskArn) -> Result<TaskRoleCredentials> {
    auto [cluster, instance] = identity();
    auto r = client.call(kAgentTarget, "GetTaskCredentials",
                         json{{"cluster", cluster}, {"containerInstance", instance}, {"task", taskArn}});
    if (!r.ok()) return r.takeError();
    const json& c = r->value("credentials", json::object());
    TaskRoleCredentials out;
    out.accessKeyId = c.value("accessKeyId", "");
    out.secretAccessKey = c.value("secretAccessKey", "");
    out.sessionToken = c.value("sessionToken", "");
    out.roleArn = r->value("roleArn", "");
    out.expiration = system_clock::time_point(std::chrono::seconds(c.value("expiration", std::int64_t(0))));
    if (out.accessKeyId.empty() || out.secretAccessKey.empty())
      return Error::make(ErrorCode::kInternal, "GetTaskCredentials returned no credentials", taskArn);
    return out;
  };
}

// ---------------------------------------------------------------------------

class MetadataServer::Impl {
 public:
  struct Task {
    MetadataRegistration reg;
    std::string credentialId;  // "" = no role
    std::optional<TaskRoleCredentials> credentials;
    system_clock::time_point refreshAt;  // when to fetch (again)
    std::shared_ptr<tcp::acceptor> acceptor;  // own namespace only
    std::map<std::string, ContainerStatsSample> lastStats;  // by runtime id
  };

  Impl(MetadataServerOptions o, TaskCredentialsFetcher f, const Clock& clock, Random& random)
      : options(std::move(o)), fetcher(std::move(f)), clock(clock), hostAcceptor(std::make_shared<tcp::acceptor>(ioc)) {
    idKey = options.credentialIdKey.empty() ? random.hex(32) : options.credentialIdKey;
  }

  Status listenHost() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(options.hostAddress, ec);
    if (ec) return Error::make(ErrorCode::kInvalidParameter, "bad metadata address " + options.hostAddress);
    tcp::endpoint ep(addr, options.hostPort);
    hostAcceptor->open(ep.protocol(), ec);
    if (!ec) hostAcceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) hostAcceptor->bind(ep, ec);
    if (!ec) hostAcceptor->listen(128, ec);
    if (ec)
      return Error::make(ErrorCode::kIo, "cannot listen on " + options.hostAddress + ":" +
                                             std::to_string(options.hostPort) + ": " + ec.message());
    boundPort = hostAcceptor->local_endpoint().port();
    accept(hostAcceptor, "");
    return okStatus();
  }

  void startThreads() {
    io = std::thread([this] { ioc.run(); });
    refresher = std::thread([this] { refreshLoop(); });
  }

  void stop() {
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      stopping = true;
    }
    cv.notify_all();
    asio::post(ioc, [this] {
      boost::system::error_code ec;
      hostAcceptor->close(ec);
      std::lock_guard lock(mu);
      for (auto& [_, t] : tasks)
        if (t->acceptor) t->acceptor->close(ec);
    });
    work.reset();
    ioc.stop();
    if (io.joinable()) io.join();
    if (refresher.joinable()) refresher.join();
  }

  // ---- accepting and serving ----

  // The handler holds the acceptor: a task unregistered while an accept
  // completes must not leave it dangling.
  void accept(std::shared_ptr<tcp::acceptor> acceptor, std::string taskId) {
    acceptor->async_accept([this, acceptor, taskId](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (!ec) serve(std::make_shared<beast::tcp_stream>(std::move(socket)), taskId);
      accept(acceptor, taskId);
    });
  }

  struct Conn {
    std::shared_ptr<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };

  void serve(std::shared_ptr<beast::tcp_stream> stream, const std::string& taskId) {
    auto c = std::make_shared<Conn>();
    c->stream = std::move(stream);
    readNext(c, taskId);
  }

  void readNext(std::shared_ptr<Conn> c, std::string taskId) {
    c->req = {};
    c->stream->expires_after(std::chrono::seconds(30));
    http::async_read(*c->stream, c->buffer, c->req,
                     [this, c, taskId](boost::system::error_code ec, std::size_t) {
                       if (ec) {
                         boost::system::error_code ignored;
                         c->stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
                         return;
                       }
                       Reply r = handle(taskId, c->req.method(), std::string(c->req.target()));
                       c->res = {};
                       c->res.version(c->req.version());
                       c->res.result(static_cast<http::status>(r.status));
                       c->res.set(http::field::content_type, "application/json");
                       c->res.set(http::field::server, "berth-agent");
                       c->res.keep_alive(c->req.keep_alive());
                       c->res.body() = std::move(r.body);
                       c->res.prepare_payload();
                       http::async_write(*c->stream, c->res, [this, c, taskId](boost::system::error_code ec2, std::size_t) {
                         if (ec2 || !c->res.keep_alive()) {
                           boost::system::error_code ignored;
                           c->stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
                           return;
                         }
                         readNext(c, taskId);
                       });
                     });
  }

  // ---- request handling (I/O thread) ----

  Reply handle(const std::string& listenerTask, http::verb method, const std::string& target) {
    if (method != http::verb::get) return metadataError(405, "Only GET is supported");
    auto parts = splitPath(target);
    if (parts.size() >= 2 && parts[0] == "v2" && parts[1] == "credentials") return credentials(listenerTask, parts);
    if (!parts.empty() && (parts[0] == "v4" || parts[0] == "v3")) return metadata(listenerTask, parts);
    return metadataError(404, "Unknown path " + target);
  }

  // A task's own listener serves only that task; the shared host listener
  // only host-mode tasks (a namespaced task's data never leaves its namespace).
  static bool servedBy(const std::string& listenerTask, const std::string& id, const Task& t) {
    return listenerTask.empty() ? t.reg.netnsPath.empty() : id == listenerTask;
  }

  Reply credentials(const std::string& listenerTask, const std::vector<std::string>& parts) {
    if (parts.size() != 3)
      return jsonReply(400, endpointError("NoIdInRequest", "CredentialsV2Request: No Credential ID in the request"));
    std::lock_guard lock(mu);
    Task* task = nullptr;
    for (auto& [id, t] : tasks) {
      if (!servedBy(listenerTask, id, *t)) continue;
      if (!t->credentialId.empty() && t->credentialId == parts[2]) task = t.get();
    }
    if (!task)
      return jsonReply(400, endpointError("InvalidIdInRequest", "CredentialsV2Request: Credentials not found"));
    if (!task->credentials) {
      cv.notify_all();  // make the refresher try now
      return jsonReply(500, endpointError("InternalServerError",
                                          "CredentialsV2Request: credentials for the task are not available yet"));
    }
    return jsonReply(200, credentialsResponse(*task->credentials));
  }

  Reply metadata(const std::string& listenerTask, const std::vector<std::string>& parts) {
    if (parts.size() < 2)
      return metadataError(400, "V4 container metadata handler: unable to get container ID from request");
    const std::string& runtimeId = parts[1];
    const std::vector<std::string> rest(parts.begin() + 2, parts.end());
    // Find the task and container under the lock, build outside it: view()
    // takes the runner's lock.
    TaskViewFn view;
    std::string containerName, taskId;
    std::vector<std::pair<std::string, std::string>> containers;
    bool ownNamespace = false;
    {
      std::lock_guard lock(mu);
      for (auto& [id, t] : tasks) {
        if (!servedBy(listenerTask, id, *t)) continue;
        for (const auto& [name, rid] : t->reg.containers)
          if (rid == runtimeId) {
            containerName = name;
            taskId = id;
            view = t->reg.view;
            containers = t->reg.containers;
            ownNamespace = !t->reg.netnsPath.empty();
          }
      }
    }
    if (!view)
      return metadataError(404, "V4 container metadata handler: unable to find container for ID " + runtimeId);
    const auto now = clock.now();
    if (rest.empty()) {
      auto body = containerMetadata(view(), containerName, clockContext(options, now));
      if (!body) return metadataError(404, "V4 container metadata handler: unknown container " + containerName);
      return jsonReply(200, *body);
    }
    if (rest.size() == 1 && rest[0] == "task") return jsonReply(200, taskMetadata(view(), clockContext(options, now)));
    if (rest.size() == 1 && rest[0] == "stats")
      return jsonReply(200, stats(taskId, containerName, runtimeId, ownNamespace, now));
    if (rest.size() == 2 && rest[0] == "task" && rest[1] == "stats") {
      json all = json::object();
      for (const auto& [name, rid] : containers) all[rid] = stats(taskId, name, rid, ownNamespace, now);
      return jsonReply(200, all);
    }
    return metadataError(404, "V4 metadata handler: unknown path");
  }

  json stats(const std::string& taskId, const std::string& name, const std::string& runtimeId, bool withNetwork,
             system_clock::time_point now) {
    ContainerStatsSample sample =
        readContainerStats(options.stats, "/berth/" + taskId + "/" + name, withNetwork, now);
    std::optional<ContainerStatsSample> previous;
    {
      std::lock_guard lock(mu);
      auto it = tasks.find(taskId);
      if (it != tasks.end()) {
        auto& last = it->second->lastStats;
        if (auto p = last.find(runtimeId); p != last.end()) previous = p->second;
        last[runtimeId] = sample;
      }
    }
    return dockerStats(sample, previous ? &*previous : nullptr, runtimeId, "/" + runtimeId);
  }

  // ---- credentials refresh ----

  // Fetches one task's credentials (no lock held while fetching).
  void fetch(const std::string& taskId, const std::string& taskArn) {
    if (!fetcher) return;
    auto r = fetcher(taskArn);
    std::lock_guard lock(mu);
    auto it = tasks.find(taskId);
    if (it == tasks.end()) return;
    const auto now = clock.now();
    if (!r.ok()) {
      log::warn("metadata: cannot get credentials for task " + taskArn + ": " + r.error().message);
      it->second->refreshAt = now + options.refreshRetry;
      return;
    }
    it->second->credentials = *r;
    it->second->refreshAt = now + (r->expiration - now) / 2;
  }

  void refreshLoop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      const auto now = clock.now();
      std::vector<std::pair<std::string, std::string>> due;
      for (auto& [id, t] : tasks)
        if (!t->credentialId.empty() && now >= t->refreshAt) due.emplace_back(id, t->reg.taskArn);
      if (!due.empty()) {
        lock.unlock();
        for (const auto& [id, arn] : due) fetch(id, arn);
        lock.lock();
        continue;
      }
      cv.wait_for(lock, std::chrono::seconds(1));
    }
  }

  std::string credentialIdFor(const std::string& taskArn) const {
    return api::hexEncode(api::hmacSha256(idKey, "credentials-id|" + taskArn)).substr(0, 32);
  }

  MetadataServerOptions options;
  TaskCredentialsFetcher fetcher;
  const Clock& clock;
  std::string idKey;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{ioc.get_executor()};
  std::shared_ptr<tcp::acceptor> hostAcceptor;
  std::uint16_t boundPort = 0;
  std::thread io, refresher;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::map<std::string, std::unique_ptr<Task>> tasks;  // by task id
};

Result<std::unique_ptr<MetadataServer>> MetadataServer::start(MetadataServerOptions options,
                                                              TaskCredentialsFetcher fetcher, const Clock& clock,
                                                              Random& random) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(fetcher), clock, random);
  BERTH_TRY(impl->listenHost());
  impl->startThreads();
  return std::unique_ptr<MetadataServer>(new MetadataServer(std::move(impl)));
}

MetadataServer::MetadataServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetadataServer::~MetadataServer() { shutdown(); }
void MetadataServer::shutdown() { impl_->stop(); }
std::uint16_t MetadataServer::hostPort() const { return impl_->boundPort; }

Result<MetadataEnv> MetadataServer::registerTask(const MetadataRegistration& reg) {
  Impl& s = *impl_;
  if (reg.taskId.empty()) return Error::make(ErrorCode::kInvalidParameter, "metadata registration without a task id");
  auto task = std::make_unique<Impl::Task>();
  task->reg = reg;
  if (!reg.taskRoleArn.empty()) task->credentialId = s.credentialIdFor(reg.taskArn);

  // Registered again in the same namespace (the runner re-registers running
  // tasks): keep the listener, which still holds the address and port.
  bool reuse = false;
  {
    std::lock_guard lock(s.mu);
    auto it = s.tasks.find(reg.taskId);
    if (it != s.tasks.end() && it->second->reg.netnsPath == reg.netnsPath) {
      it->second->reg = reg;
      it->second->credentialId = task->credentialId;
      if (task->credentialId.empty()) it->second->credentials.reset();
      reuse = true;
    }
  }

  std::string base;  // scheme://host[:port]
  if (reuse) {
    base = !reg.netnsPath.empty()
               ? "http://" + s.options.taskAddress + (s.options.taskPort == 80 ? "" : ":" + std::to_string(s.options.taskPort))
               : "http://" + s.options.hostAddress + ":" + std::to_string(s.boundPort);
  } else if (!reg.netnsPath.empty()) {
    auto fd = listenInNetworkNamespace(reg.netnsPath, s.options.taskAddress, s.options.taskListenPort,
                                       s.options.taskPort);
    if (!fd.ok()) return fd.takeError();
    task->acceptor = std::make_shared<tcp::acceptor>(s.ioc);
    boost::system::error_code ec;
    task->acceptor->assign(tcp::v4(), *fd, ec);
    if (ec) {
      ::close(*fd);
      return Error::make(ErrorCode::kIo, "cannot adopt the task's metadata socket: " + ec.message(), reg.netnsPath);
    }
    base = "http://" + s.options.taskAddress + (s.options.taskPort == 80 ? "" : ":" + std::to_string(s.options.taskPort));
  } else {
    base = "http://" + s.options.hostAddress + ":" + std::to_string(s.boundPort);
  }

  MetadataEnv env;
  for (const auto& [name, runtimeId] : reg.containers) {
    auto& vars = env[name];
    vars.emplace_back("ECS_CONTAINER_METADATA_URI_V4", base + "/v4/" + runtimeId);
    vars.emplace_back("ECS_CONTAINER_METADATA_URI", base + "/v3/" + runtimeId);
    if (!task->credentialId.empty()) {
      if (!reg.netnsPath.empty() && s.options.taskPort == 80)
        vars.emplace_back("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/" + task->credentialId);
      else
        vars.emplace_back("AWS_CONTAINER_CREDENTIALS_FULL_URI", base + "/v2/credentials/" + task->credentialId);
    }
  }

  const bool hasRole = !task->credentialId.empty();
  if (reuse) return env;
  std::shared_ptr<tcp::acceptor> acceptor = task->acceptor;
  std::unique_ptr<Impl::Task> replaced;
  {
    std::lock_guard lock(s.mu);
    auto& slot = s.tasks[reg.taskId];
    replaced = std::move(slot);  // registered again (agent restart path): the new listener wins
    slot = std::move(task);
  }
  if (replaced && replaced->acceptor) {
    auto* old = replaced.release();
    asio::post(s.ioc, [old] {
      boost::system::error_code ec;
      old->acceptor->close(ec);
      delete old;
    });
  }
  if (acceptor) asio::post(s.ioc, [&s, acceptor, id = reg.taskId] { s.accept(acceptor, id); });
  // Have credentials before the containers start, so the first SDK call works.
  if (hasRole) s.fetch(reg.taskId, reg.taskArn);
  return env;
}

void MetadataServer::unregisterTask(const std::string& taskId) {
  Impl& s = *impl_;
  std::unique_ptr<Impl::Task> task;
  {
    std::lock_guard lock(s.mu);
    auto it = s.tasks.find(taskId);
    if (it == s.tasks.end()) return;
    task = std::move(it->second);
    s.tasks.erase(it);
  }
  // The acceptor belongs to the I/O thread: close and free it there.
  auto* raw = task.release();
  asio::post(s.ioc, [raw] {
    if (raw->acceptor) {
      boost::system::error_code ec;
      raw->acceptor->close(ec);
    }
    delete raw;
  });
}

}  // namespace berth::agent
