#include "client/coordinator_session.h"

#include "spdlog/spdlog.h"

namespace petrel {

CoordinatorSession::CoordinatorSession(CoordinatorClient* client, Options options)
    : client_(client), options_(std::move(options)) {}

CoordinatorSession::~CoordinatorSession() { Stop(); }

absl::Status CoordinatorSession::Register() {
  RegisterRequest registration = options_.registration;
  // After a coordinator restart that lost this node, ask for the same id:
  // the jobs it takes part in name it.
  registration.set_previous_node_id(node_id());
  auto response = options_.role == SERVER ? client_->RegisterServer(registration)
                                          : client_->RegisterWorker(registration);
  if (!response.ok()) return response.status();
  {
    absl::MutexLock lock(&mu_);
    node_id_ = response->node_id();
    if (response->heartbeat_interval_seconds() > 0) {
      interval_ = absl::Seconds(response->heartbeat_interval_seconds());
    }
  }
  if (options_.on_registered) options_.on_registered(response->node_id());
  return absl::OkStatus();
}

absl::Status CoordinatorSession::Start(absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  absl::Status status;
  while (!(status = Register()).ok()) {
    if (absl::Now() >= give_up || stop_.HasBeenNotified()) return status;
    absl::SleepFor(absl::Milliseconds(100));
  }
  thread_ = std::thread([this] { HeartbeatLoop(); });
  return absl::OkStatus();
}

void CoordinatorSession::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  {
    absl::MutexLock lock(&mu_);
    beat_now_ = true;  // wakes the loop, which then sees stop_
  }
  if (thread_.joinable()) thread_.join();
}

void CoordinatorSession::HeartbeatNow() {
  absl::MutexLock lock(&mu_);
  beat_now_ = true;
}

std::string CoordinatorSession::node_id() const {
  absl::MutexLock lock(&mu_);
  return node_id_;
}

void CoordinatorSession::HeartbeatLoop() {
  bool coordinator_reachable = true;
  while (true) {
    HeartbeatRequest request;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&beat_now_), interval_);
      beat_now_ = false;
      request.set_node_id(node_id_);
    }
    if (stop_.HasBeenNotified()) return;
    if (options_.fill_heartbeat) options_.fill_heartbeat(&request);
    auto response = client_->Heartbeat(request);
    if (!response.ok()) {
      // Logged once per outage, not once per beat.
      if (coordinator_reachable) {
        spdlog::warn("heartbeat failed: {}", response.status().ToString());
      }
      coordinator_reachable = false;
      continue;
    }
    if (!coordinator_reachable) spdlog::info("coordinator reachable again");
    coordinator_reachable = true;
    if (response->reregister()) {
      spdlog::warn("coordinator does not know {}; registering again", request.node_id());
      absl::Status status = Register();
      if (!status.ok()) spdlog::warn("re-registration failed: {}", status.ToString());
      continue;
    }
    if (options_.on_heartbeat) options_.on_heartbeat(*response);
  }
}

}  // namespace petrel
