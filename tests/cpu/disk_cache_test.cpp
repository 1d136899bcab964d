#include "kiln/backends/cpu/disk_cache.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cpu/test_kernels.h"
#include "gtest/gtest.h"

namespace kiln::backends::cpu {
namespace {

using Status = DiskReadResult::Status;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  return files;
}

TEST(DiskCacheFormat, Fnv1aMatchesReferenceValues) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(fnv1a64("bar", fnv1a64("foo")), fnv1a64("foobar"));
}

TEST(DiskCacheFormat, RoundTrips) {
  const std::string bytes = encode_cache_file("the key", std::string("pay\0load", 8));
  EXPECT_EQ(bytes.size(), kDiskHeaderSize + 7 + 8);
  const DiskReadResult result = decode_cache_file(bytes, "the key");
  ASSERT_EQ(result.status, Status::kHit) << result.reason;
  EXPECT_EQ(result.payload, std::string("pay\0load", 8));
}

TEST(DiskCacheFormat, EverySingleByteFlipIsDetected) {
  const std::string good = encode_cache_file("key", "some object code");
  for (size_t i = 0; i < good.size(); ++i) {
    for (const unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      EXPECT_EQ(decode_cache_file(bad, "key").status, Status::kCorrupt)
          << "byte " << i << " mask " << int{mask};
    }
  }
}

TEST(DiskCacheFormat, EveryTruncationAndExtensionIsDetected) {
  const std::string good = encode_cache_file("key", "some object code");
  for (size_t size = 0; size < good.size(); ++size) {
    EXPECT_EQ(decode_cache_file(good.substr(0, size), "key").status, Status::kCorrupt) << size;
  }
  EXPECT_EQ(decode_cache_file(good + "x", "key").status, Status::kCorrupt);
}

TEST(DiskCacheFormat, ReportsWhy) {
  const std::string good = encode_cache_file("key", "payload");
  EXPECT_EQ(decode_cache_file(good, "other").reason, "the file holds another key");
  EXPECT_EQ(decode_cache_file("KILN", "key").reason, "truncated header (4 bytes)");
  std::string huge = good;
  for (int i = 16; i < 24; ++i) huge[i] = '\xff';  // payload length 2^64 - 1: no overflow
  EXPECT_NE(decode_cache_file(huge, "key").reason.find("size mismatch"), std::string::npos);
  std::string version = good;
  version[8] = 7;
  EXPECT_EQ(decode_cache_file(version, "key").reason, "format version 7, expected 1");
  std::string flipped = good;
  flipped.back() ^= 1;
  EXPECT_EQ(decode_cache_file(flipped, "key").reason, "checksum mismatch");
}

TEST(DiskCache, WritesReadsAndReplaces) {
  testing::TempDir dir;
  DiskCache cache(dir.path() / "nested" / "cpu");  // created on the first write
  EXPECT_EQ(cache.read("k").status, Status::kMissing);
  std::string error;
  ASSERT_TRUE(cache.write("k", "first", &error)) << error;
  DiskReadResult result = cache.read("k");
  ASSERT_EQ(result.status, Status::kHit) << result.reason;
  EXPECT_EQ(result.payload, "first");
  ASSERT_TRUE(cache.write("k", "second", &error)) << error;
  EXPECT_EQ(cache.read("k").payload, "second");
  // Only the final file remains: no temporary file is left behind.
  const std::vector<std::filesystem::path> files = files_in(cache.directory());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], cache.path_for("k"));
  EXPECT_EQ(files[0].extension(), ".kobj");
}

TEST(DiskCache, CollidingFileNamesNeverMixUpPayloads) {
  // Two keys in one file name (simulated by writing one key's file at the other's path).
  testing::TempDir dir;
  DiskCache cache(dir.path());
  std::string error;
  ASSERT_TRUE(cache.write("a", "payload of a", &error)) << error;
  std::filesystem::rename(cache.path_for("a"), cache.path_for("b"));
  const DiskReadResult result = cache.read("b");
  EXPECT_EQ(result.status, Status::kCorrupt);
  EXPECT_EQ(result.payload, "");
}

TEST(DiskCache, UnwritableDirectoryFailsCleanly) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "file") << "not a directory";
  DiskCache cache(dir.path() / "file" / "cpu");
  std::string error;
  EXPECT_FALSE(cache.write("k", "payload", &error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
  EXPECT_EQ(cache.read("k").status, Status::kMissing);
}

TEST(DiskCache, UnreadableFileIsAMissNotAnError) {
  testing::TempDir dir;
  DiskCache cache(dir.path());
  std::filesystem::create_directories(cache.path_for("k"));  // a directory where the file goes
  const DiskReadResult result = cache.read("k");
  EXPECT_NE(result.status, Status::kHit);
}

// Several processes write the same key over and over while reading it back: every read sees
// a whole file written by someone (never a mix or a partial file), and the directory ends with
// one valid file and no temporary files.
TEST(DiskCache, ConcurrentProcessesWritingOneKey) {
  testing::TempDir dir;
  DiskCache cache(dir.path());
  constexpr int kProcesses = 4;
  constexpr int kRounds = 40;
  auto payload_of = [](int process) {
    // Large enough that a write takes several system calls' worth of pages.
    return std::string(200000 + process * 1000, static_cast<char>('a' + process));
  };
  int barrier[2];
  ASSERT_EQ(::pipe(barrier), 0);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(barrier[1]);
      char c;
      if (::read(barrier[0], &c, 1) != 0) ::_exit(3);  // released when the parent closes it
      std::string error;
      for (int round = 0; round < kRounds; ++round) {
        if (!cache.write("shared key", payload_of(p), &error)) ::_exit(1);
        const DiskReadResult result = cache.read("shared key");
        if (result.status != Status::kHit) ::_exit(2);
        bool known = false;
        for (int q = 0; q < kProcesses; ++q) known = known || result.payload == payload_of(q);
        if (!known) ::_exit(2);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(barrier[0]);
  ::close(barrier[1]);  // start them all at once
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: write failed, 2: a read saw a bad file";
  }
  const DiskReadResult result = cache.read("shared key");
  ASSERT_EQ(result.status, Status::kHit) << result.reason;
  EXPECT_EQ(files_in(dir.path()).size(), 1u);
  EXPECT_EQ(read_file(cache.path_for("shared key")).size(),
            kDiskHeaderSize + std::string("shared key").size() + result.payload.size());
}

}  // namespace
}  // namespace kiln::backends::cpu
