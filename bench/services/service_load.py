#!/usr/bin/python3
"""Service scheduler benchmark (bench/services/run_services.sh), issue #7.

Against a server with simulated container instances, one REPLICA service:
  1. scale 0 -> N: UpdateService desiredCount N, time until runningCount == N
     and the deployment is COMPLETED (steady);
  2. rolling deployment of N tasks: UpdateService to a new task definition
     revision (minimumHealthyPercent 100 / maximumPercent 200), time until one
     COMPLETED deployment with N RUNNING tasks of the new revision;
  3. scale N -> 0: time until no task of the service is left running.
Prints one JSON object. Every phase is bounded by --time-limit.
"""
import argparse
import json
import time

import boto3
from botocore.config import Config


def client(args):
    return boto3.client("ecs", endpoint_url=args.endpoint, region_name=args.region,
                        aws_access_key_id=args.access_key, aws_secret_access_key=args.secret_key,
                        config=Config(retries={"max_attempts": 2}, read_timeout=120, connect_timeout=10))


def wait_connected(ecs, cluster, instances, deadline):
    while time.time() < deadline:
        c = ecs.describe_clusters(clusters=[cluster])["clusters"]
        if c and c[0]["registeredContainerInstancesCount"] >= instances:
            return
        time.sleep(0.5)
    raise SystemExit("instances did not register in time")


def service(ecs, cluster, name):
    return ecs.describe_services(cluster=cluster, services=[name])["services"][0]


def timed_until(ecs, cluster, name, done, deadline, interval=0.05):
    """Seconds until done(service) holds, plus the number of polls and the last view."""
    start = time.time()
    polls = 0
    while True:
        svc = service(ecs, cluster, name)
        polls += 1
        if done(svc):
            return round(time.time() - start, 3), polls, svc
        if time.time() > deadline:
            raise SystemExit("timed out; last view: %s" % json.dumps(
                {k: svc.get(k) for k in ("desiredCount", "runningCount", "pendingCount", "deployments")}, default=str))
        time.sleep(interval)


def steady(n, task_definition=None):
    def check(svc):
        deps = svc["deployments"]
        return (len(deps) == 1 and deps[0]["rolloutState"] == "COMPLETED" and svc["runningCount"] == n
                and svc["pendingCount"] == 0 and (task_definition is None or deps[0]["taskDefinition"] == task_definition))
    return check


def main():
    p = argparse.ArgumentParser()
    for a in ("endpoint", "region", "access-key", "secret-key", "cluster"):
        p.add_argument("--" + a, required=True)
    p.add_argument("--instances", type=int, required=True)
    p.add_argument("--tasks", type=int, default=1000)
    p.add_argument("--time-limit", type=float, default=900)
    args = p.parse_args()
    ecs = client(args)
    end = time.time() + args.time_limit
    wait_connected(ecs, args.cluster, args.instances, end)

    family = "bench-svc"
    container = {"name": "app", "image": "bench/app:1", "cpu": 16, "memory": 32, "essential": True}
    v1 = ecs.register_task_definition(family=family, containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]
    v2 = ecs.register_task_definition(family=family, containerDefinitions=[dict(container, image="bench/app:2")]
                                      )["taskDefinition"]["taskDefinitionArn"]
    name = "bench-%d" % (int(time.time()) % 100000)
    ecs.create_service(cluster=args.cluster, serviceName=name, taskDefinition=v1, desiredCount=0,
                       deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200})
    timed_until(ecs, args.cluster, name, steady(0), end)

    n = args.tasks
    result = {"instances": args.instances, "tasks": n}
    ecs.update_service(cluster=args.cluster, service=name, desiredCount=n)
    result["scaleOutSeconds"], result["scaleOutPolls"], _ = timed_until(ecs, args.cluster, name, steady(n), end)

    ecs.update_service(cluster=args.cluster, service=name, taskDefinition=v2)
    result["rollingDeploySeconds"], _, svc = timed_until(ecs, args.cluster, name, steady(n, v2), end)
    result["eventsKept"] = len(svc["events"])

    ecs.update_service(cluster=args.cluster, service=name, desiredCount=0)
    result["scaleInSeconds"], _, _ = timed_until(
        ecs, args.cluster, name, lambda s: s["runningCount"] == 0 and s["pendingCount"] == 0, end)
    # The service counts a task out once its stop is decided; the agents'
    # STOPPED reports follow. The cluster counts tasks by lastStatus, so this
    # is the time until every task has really stopped.
    start = time.time()
    while True:
        c = ecs.describe_clusters(clusters=[args.cluster])["clusters"][0]
        if c["runningTasksCount"] + c["pendingTasksCount"] == 0:
            break
        if time.time() > end:
            raise SystemExit("tasks still running after scale-in: %s" % c["runningTasksCount"])
        time.sleep(0.05)
    result["scaleInAllStoppedSeconds"] = round(result["scaleInSeconds"] + time.time() - start, 3)
    for k in ("scaleOut", "rollingDeploy", "scaleIn"):
        s = result[k + "Seconds"]
        result[k + "TasksPerMinute"] = round(n / s * 60) if s > 0 else None
    ecs.delete_service(cluster=args.cluster, service=name, force=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
