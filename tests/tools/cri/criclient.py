"""A CRI client: the gRPC stubs of api.proto (generated at run time with grpc_tools.protoc into a
temporary directory) and a thin wrapper that makes the kubelet's calls with one timeout.

Debian's python3-grpcio and python3-grpc-tools are installed for /usr/bin/python3."""

import atexit
import importlib
import os
import shutil
import sys
import tempfile

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))


def load_api():
    """Compiles api.proto into a temp dir (removed at exit) and imports the generated modules."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="berth-cri-stubs.")
    atexit.register(shutil.rmtree, out, True)
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    args = ["protoc", "-I" + HERE, "--python_out=" + out, "--grpc_python_out=" + out, "api.proto"]
    if os.path.isdir(include):
        args.insert(1, "-I" + include)
    if protoc.main(args) != 0:
        raise SystemExit("cri: grpc_tools.protoc failed on " + os.path.join(HERE, "api.proto"))
    sys.path.insert(0, out)
    return importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")


pb, pb_grpc = load_api()


class CriError(Exception):
    """A CRI call that failed: the gRPC status code and the runtime's message."""

    def __init__(self, call, err):
        self.call = call
        self.code = err.code().name if hasattr(err, "code") else "UNKNOWN"
        self.details = err.details() if hasattr(err, "details") else str(err)
        super().__init__(f"{call}: {self.code}: {self.details}")


class Client:
    """RuntimeService and ImageService over ENDPOINT (unix:///path/containerd.sock)."""

    def __init__(self, endpoint, timeout=120):
        self.channel = grpc.insecure_channel(endpoint)
        self.runtime = pb_grpc.RuntimeServiceStub(self.channel)
        self.images = pb_grpc.ImageServiceStub(self.channel)
        self.timeout = timeout

    def call(self, name, request, timeout=None):
        stub = self.images if name in ("ListImages", "ImageStatus") else self.runtime
        try:
            return getattr(stub, name)(request, timeout=timeout or self.timeout)
        except grpc.RpcError as err:
            raise CriError(name, err) from None

    # The kubelet's calls, with the request built from plain arguments.
    def version(self):
        return self.call("Version", pb.VersionRequest(version="v1"))

    def status(self):
        return self.call("Status", pb.StatusRequest())

    def run_pod(self, config, handler):
        return self.call("RunPodSandbox", pb.RunPodSandboxRequest(config=config, runtime_handler=handler)).pod_sandbox_id

    def pod_status(self, pod_id, verbose=False):
        return self.call("PodSandboxStatus", pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=verbose))

    def list_pods(self, pod_id="", state=None, labels=None):
        f = pb.PodSandboxFilter(id=pod_id, label_selector=labels or {})
        if state is not None:
            f.state.state = state
        return self.call("ListPodSandbox", pb.ListPodSandboxRequest(filter=f)).items

    def stop_pod(self, pod_id):
        self.call("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=pod_id))

    def remove_pod(self, pod_id):
        self.call("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id))

    def create(self, pod_id, config, pod_config):
        req = pb.CreateContainerRequest(pod_sandbox_id=pod_id, config=config, sandbox_config=pod_config)
        return self.call("CreateContainer", req).container_id

    def start(self, ctr_id):
        self.call("StartContainer", pb.StartContainerRequest(container_id=ctr_id))

    def stop(self, ctr_id, timeout=0):
        self.call("StopContainer", pb.StopContainerRequest(container_id=ctr_id, timeout=timeout))

    def remove(self, ctr_id):
        self.call("RemoveContainer", pb.RemoveContainerRequest(container_id=ctr_id))

    def container_status(self, ctr_id, verbose=False):
        return self.call("ContainerStatus", pb.ContainerStatusRequest(container_id=ctr_id, verbose=verbose))

    def list_containers(self, pod_id="", state=None, labels=None, ctr_id=""):
        f = pb.ContainerFilter(id=ctr_id, pod_sandbox_id=pod_id, label_selector=labels or {})
        if state is not None:
            f.state.state = state
        return self.call("ListContainers", pb.ListContainersRequest(filter=f)).containers

    def update(self, ctr_id, resources):
        req = pb.UpdateContainerResourcesRequest(container_id=ctr_id, linux=resources)
        self.call("UpdateContainerResources", req)

    def exec_sync(self, ctr_id, cmd, timeout=30):
        req = pb.ExecSyncRequest(container_id=ctr_id, cmd=cmd, timeout=timeout)
        return self.call("ExecSync", req, timeout=timeout + 30)

    # The streaming URLs (tests/tools/cri/cri_stream.py opens them). With a tty there is no
    # stderr: the terminal carries both (kubectl sends stderr=false then).
    def exec_url(self, ctr_id, cmd, stdin=False, tty=False):
        req = pb.ExecRequest(container_id=ctr_id, cmd=cmd, stdin=stdin, tty=tty, stdout=True, stderr=not tty)
        return self.call("Exec", req).url

    def attach_url(self, ctr_id, stdin=False, tty=False):
        req = pb.AttachRequest(container_id=ctr_id, stdin=stdin, tty=tty, stdout=True, stderr=not tty)
        return self.call("Attach", req).url

    def reopen_log(self, ctr_id):
        self.call("ReopenContainerLog", pb.ReopenContainerLogRequest(container_id=ctr_id))

    def stats(self, ctr_id):
        return self.call("ContainerStats", pb.ContainerStatsRequest(container_id=ctr_id)).stats

    def list_stats(self, pod_id=""):
        req = pb.ListContainerStatsRequest(filter=pb.ContainerStatsFilter(pod_sandbox_id=pod_id))
        return self.call("ListContainerStats", req).stats

    def image_status(self, image):
        return self.call("ImageStatus", pb.ImageStatusRequest(image=pb.ImageSpec(image=image))).image

    def list_images(self):
        return self.call("ListImages", pb.ListImagesRequest()).images

    def remove_everything(self):
        """Stops and removes every pod (their containers go with them), as a kubelet's drain."""
        for pod in self.list_pods():
            self.stop_pod(pod.id)
            self.remove_pod(pod.id)
        return True
