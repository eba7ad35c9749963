#define CATCH_CONFIG_MAIN
#include "server/clock_buffer.h"

#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "common/wire/push_view.h"
#include "proto/parameter.pb.h"

namespace petrel::server {
namespace {

PushRequest Push(const std::string& worker, int64_t clock, const std::string& gradient) {
  PushRequest push;
  push.set_worker_id(worker);
  push.set_clock(clock);
  Slice* slice = push.add_slices();
  slice->set_table("t");
  slice->set_begin(0);
  slice->set_end(1);
  push.add_gradients(gradient);
  return push;
}

std::string Gradient(const PushView& view) { return std::string(view.gradients.at(0)); }

TEST_CASE("BSP holds every push until its clock is complete, then gives it up by rank") {
  ClockBuffer buffer(/*num_workers=*/3, /*bsp=*/true, /*checkpoint_every=*/0);
  PushRequest late = Push("w2", 0, "c");
  PushView view = ViewOf(late);  // borrows: must be copied to be held
  REQUIRE(buffer.Hold(2, &view));
  late.set_gradients(0, "changed");
  PushView first = OwnedView(Push("w0", 0, "a"));
  REQUIRE(buffer.Hold(0, &first));
  PushView next_clock = OwnedView(Push("w0", 1, "n"));
  REQUIRE(buffer.Hold(0, &next_clock));

  CHECK_FALSE(buffer.TakeCompleteClock(/*min_clock=*/0).has_value());
  std::optional<ClockBuffer::Clock> complete = buffer.TakeCompleteClock(/*min_clock=*/1);
  REQUIRE(complete.has_value());
  CHECK(complete->clock == 0);
  REQUIRE(complete->by_rank.size() == 3);
  REQUIRE(complete->by_rank[0].size() == 1);
  CHECK(Gradient(complete->by_rank[0][0]) == "a");
  CHECK(complete->by_rank[1].empty());  // rank 1 left before clock 0, say
  REQUIRE(complete->by_rank[2].size() == 1);
  CHECK(Gradient(complete->by_rank[2][0]) == "c");  // held as it came
  // Clock 1 is not complete yet, and clock 0 is gone.
  CHECK_FALSE(buffer.TakeCompleteClock(/*min_clock=*/1).has_value());
  std::optional<ClockBuffer::Clock> second = buffer.TakeCompleteClock(/*min_clock=*/2);
  REQUIRE(second.has_value());
  CHECK(second->clock == 1);
  CHECK_FALSE(buffer.TakeCompleteClock(/*min_clock=*/9).has_value());
}

TEST_CASE("BSP's cuts fall after every checkpoint_every clocks") {
  ClockBuffer buffer(1, /*bsp=*/true, /*checkpoint_every=*/3);
  CHECK_FALSE(buffer.CutAfter(0));
  CHECK_FALSE(buffer.CutAfter(1));
  CHECK(buffer.CutAfter(2));
  CHECK(buffer.CutAfter(5));
  CHECK_FALSE(buffer.CutHolds(10, 0));  // BSP pulls wait at the gate, not at cuts
  ClockBuffer no_checkpoints(1, /*bsp=*/true, /*checkpoint_every=*/0);
  CHECK_FALSE(no_checkpoints.CutAfter(2));
}

TEST_CASE("SSP defers pushes from the next cut on and releases them, in arrival order, past it") {
  ClockBuffer buffer(2, /*bsp=*/false, /*checkpoint_every=*/2);
  PushView early = OwnedView(Push("w0", 1, "x"));
  CHECK_FALSE(buffer.Hold(0, &early));  // before the cut: the caller applies it
  PushView at_cut_1 = OwnedView(Push("w0", 2, "p"));
  PushView at_cut_0 = OwnedView(Push("w1", 2, "q"));
  PushView past = OwnedView(Push("w0", 4, "r"));
  REQUIRE(buffer.Hold(0, &at_cut_1));
  REQUIRE(buffer.Hold(1, &at_cut_0));
  REQUIRE(buffer.Hold(0, &past));

  CHECK(buffer.next_cut() == 2);
  CHECK(buffer.CutHolds(/*clock=*/3, /*min_clock=*/1));
  CHECK_FALSE(buffer.CutHolds(/*clock=*/2, /*min_clock=*/1));  // the cut's own clock may pull
  CHECK_FALSE(buffer.CutDue(/*min_clock=*/1));
  REQUIRE(buffer.CutDue(/*min_clock=*/2));
  const std::vector<PushView> due = buffer.PassCut();
  REQUIRE(due.size() == 2);
  CHECK(Gradient(due[0]) == "p");
  CHECK(Gradient(due[1]) == "q");
  CHECK(buffer.next_cut() == 4);
  CHECK(buffer.PassCut().size() == 1);  // clock 4, for the cut after
}

TEST_CASE("what is held travels to a rebuilt replica and lands as it was") {
  ClockBuffer buffer(2, /*bsp=*/true, 0);
  PushView a = OwnedView(Push("w1", 0, "a"));
  PushView b = OwnedView(Push("w0", 0, "b"));
  REQUIRE(buffer.Hold(1, &a));
  REQUIRE(buffer.Hold(0, &b));
  REQUIRE(buffer.CheckPart(0, 1, 0, 2).ok());
  CHECK_FALSE(buffer.RecordPart(0, 1, 0, 2));
  ReplicaState state;
  buffer.ExportTo(&state);
  REQUIRE(state.held_pushes_size() == 2);
  PushRequest first;
  REQUIRE(first.ParseFromString(state.held_pushes(0)));
  CHECK(first.worker_id() == "w0");  // by rank, not by arrival
  REQUIRE(state.pending_size() == 1);

  ClockBuffer rebuilt(2, /*bsp=*/true, 0);
  std::vector<std::pair<int, PushView>> pushes;
  for (const std::string& bytes : state.held_pushes()) {
    PushRequest push;
    REQUIRE(push.ParseFromString(bytes));
    const int rank = push.worker_id() == "w0" ? 0 : 1;
    pushes.emplace_back(rank, OwnedView(std::move(push)));
  }
  rebuilt.ImportHeld(std::move(pushes), state);
  CHECK(rebuilt.SeenPart(0, 1, 0, 2));
  CHECK_FALSE(rebuilt.SeenPart(0, 1, 1, 2));
  std::optional<ClockBuffer::Clock> complete = rebuilt.TakeCompleteClock(1);
  REQUIRE(complete.has_value());
  CHECK(Gradient(complete->by_rank[0].at(0)) == "b");
  CHECK(Gradient(complete->by_rank[1].at(0)) == "a");
}

TEST_CASE("resuming from a checkpoint drops what is held and moves the next cut past it") {
  ClockBuffer buffer(1, /*bsp=*/false, /*checkpoint_every=*/5);
  PushView deferred = OwnedView(Push("w0", 6, "d"));
  REQUIRE(buffer.Hold(0, &deferred));
  buffer.ResumeAt(10);
  CHECK(buffer.next_cut() == 15);
  CHECK(buffer.PassCut().empty());
}

}  // namespace
}  // namespace petrel::server
