// The uts namespace keeps its host name and NIS domain name across dump and restore (ns flavor:
// the test lives in a uts namespace of its own, so changing them touches nothing else).
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const std::string host = "zdtm-uts00-" + std::to_string(getpid());
  const std::string domain = "uts00.zdtm.example";
  utsname before{};
  uname(&before);
  if (std::strcmp(before.nodename, host.c_str()) == 0) t.Fail("host name is already %s", host.c_str());
  if (sethostname(host.data(), host.size()) != 0) t.Fail("sethostname: %s", std::strerror(errno));
  if (setdomainname(domain.data(), domain.size()) != 0) t.Fail("setdomainname: %s", std::strerror(errno));

  t.Ready();
  t.WaitForTerm();

  utsname after{};
  if (uname(&after) != 0) t.Fail("uname: %s", std::strerror(errno));
  if (host != after.nodename) t.Fail("host name is '%s', want '%s'", after.nodename, host.c_str());
  if (domain != after.domainname) t.Fail("domain name is '%s', want '%s'", after.domainname, domain.c_str());
  t.Pass();
}
