// PipelinedPsClient serves a Pull from the previous push-pull only for the
// clock it was made for, once; in the background the push-pull runs while
// the caller goes on, and the next call waits for it and reports its failure.
#define CATCH_CONFIG_MAIN
#include "client/pipelined_ps_client.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "catch2/catch.hpp"

namespace petrel::worker {
namespace {

// One table of one float: the clock the values were made for.
class FakePsClient : public PsClient {
 public:
  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                    SparseStep*) override {
    ++pulls;
    *tables = {{static_cast<float>(clock)}};
    return absl::OkStatus();
  }
  absl::Status Push(int64_t, const std::vector<std::vector<float>>&, const SparseStep*) override {
    ++pushes;
    return absl::OkStatus();
  }
  absl::Status PushPull(int64_t clock, const std::vector<std::vector<float>>& gradients,
                        std::vector<std::vector<float>>* next) override {
    if (release != nullptr) release->WaitForNotification();
    ++push_pulls;
    last_gradient = gradients[0][0];
    if (!fail.ok()) return fail;
    *next = {{static_cast<float>(clock + 1)}};
    return absl::OkStatus();
  }
  absl::Status Leave(int64_t) override {
    ++leaves;
    return absl::OkStatus();
  }

  int pulls = 0, pushes = 0, push_pulls = 0, leaves = 0;
  float last_gradient = 0;
  absl::Status fail;
  absl::Notification* release = nullptr;
};

TEST_CASE("a push-pull's values serve one pull of the next clock, and no other") {
  for (bool background : {false, true}) {
    INFO("background " << background);
    FakePsClient fake;
    PipelinedPsClient ps(&fake, background);
    std::vector<std::vector<float>> values;
    const std::vector<std::vector<float>> gradients = {{0.5f}};
    REQUIRE(ps.Pull(0, &values, nullptr).ok());  // the first step pulls
    CHECK(fake.pulls == 1);
    REQUIRE(ps.Push(0, gradients, nullptr).ok());
    REQUIRE(ps.Pull(1, &values, nullptr).ok());
    CHECK(fake.push_pulls == 1);
    CHECK(fake.pushes == 0);
    CHECK(fake.pulls == 1);  // answered by the push-pull
    CHECK(values == std::vector<std::vector<float>>{{1.0f}});
    CHECK(fake.last_gradient == 0.5f);
    REQUIRE(ps.Pull(1, &values, nullptr).ok());  // used once: this one is a call
    CHECK(fake.pulls == 2);

    // Values for clock 2 never serve clock 3, nor a pull with sparse rows.
    REQUIRE(ps.Push(1, gradients, nullptr).ok());
    REQUIRE(ps.Pull(3, &values, nullptr).ok());
    CHECK(fake.pulls == 3);
    CHECK(values == std::vector<std::vector<float>>{{3.0f}});
    REQUIRE(ps.Push(2, gradients, nullptr).ok());
    SparseStep sparse;
    REQUIRE(ps.Pull(3, &values, &sparse).ok());
    CHECK(fake.pulls == 4);
    // A sparse push is a plain push: the next keys are not known yet.
    REQUIRE(ps.Push(3, gradients, &sparse).ok());
    CHECK(fake.pushes == 1);
    CHECK(fake.push_pulls == 3);
    CHECK(ps.pulls_saved() == 1);
  }
}

TEST_CASE("in the background the push-pull runs while the caller goes on") {
  FakePsClient fake;
  absl::Notification release;
  fake.release = &release;
  PipelinedPsClient ps(&fake, /*background=*/true);
  const std::vector<std::vector<float>> gradients = {{0.25f}};
  REQUIRE(ps.Push(4, gradients, nullptr).ok());  // returns with the push-pull held up
  CHECK(fake.push_pulls == 0);
  std::vector<std::vector<float>> values;
  absl::Notification pulled;
  absl::Status status;  // Catch2's checks belong to the test's thread
  std::thread caller([&] {
    status = ps.Pull(5, &values, nullptr);
    pulled.Notify();
  });
  CHECK(!pulled.WaitForNotificationWithTimeout(absl::Milliseconds(50)));  // waits for it
  release.Notify();
  caller.join();
  REQUIRE(status.ok());
  CHECK(values == std::vector<std::vector<float>>{{5.0f}});
  CHECK(fake.pulls == 0);
}

TEST_CASE("a failed background push-pull fails the next call, and Leave drops held values") {
  FakePsClient fake;
  PipelinedPsClient ps(&fake, /*background=*/true);
  const std::vector<std::vector<float>> gradients = {{1.0f}};
  fake.fail = absl::FailedPreconditionError("job j is CANCELLED; pushes are closed");
  REQUIRE(ps.Push(0, gradients, nullptr).ok());
  std::vector<std::vector<float>> values;
  absl::Status pulled = ps.Pull(1, &values, nullptr);
  CHECK(absl::IsFailedPrecondition(pulled));
  CHECK(pulled.message() == "job j is CANCELLED; pushes are closed");
  CHECK(fake.pulls == 0);

  fake.fail = absl::OkStatus();
  REQUIRE(ps.Push(1, gradients, nullptr).ok());
  REQUIRE(ps.Leave(2).ok());
  CHECK(fake.leaves == 1);
  REQUIRE(ps.Pull(2, &values, nullptr).ok());  // after leaving: a fresh pull
  CHECK(fake.pulls == 1);
}

}  // namespace
}  // namespace petrel::worker
