#include "api/ecs_api.h"

#include <cstdlib>

#include "api/service_model.h"
#include "control/attribute_ops.h"
#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/service_ops.h"
#include "control/tagging_ops.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"

namespace berth::api {

AwsError ecsError(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidParameter: return {"InvalidParameterException", 400, e.message};
    case ErrorCode::kClient: return {"ClientException", 400, e.message};
    case ErrorCode::kClusterNotFound: return {"ClusterNotFoundException", 400, e.message};
    case ErrorCode::kClusterContainsServices: return {"ClusterContainsServicesException", 400, e.message};
    case ErrorCode::kClusterContainsTasks: return {"ClusterContainsTasksException", 400, e.message};
    case ErrorCode::kClusterContainsContainerInstances: return {"ClusterContainsContainerInstancesException", 400, e.message};
    case ErrorCode::kResourceNotFound:
    case ErrorCode::kNotFound: return {"ResourceNotFoundException", 400, e.message};
    case ErrorCode::kLimitExceeded: return {"LimitExceededException", 400, e.message};
    case ErrorCode::kTargetNotFound: return {"TargetNotFoundException", 400, e.message};
    case ErrorCode::kAttributeLimitExceeded: return {"AttributeLimitExceededException", 400, e.message};
    case ErrorCode::kServiceNotFound: return {"ServiceNotFoundException", 400, e.message};
    case ErrorCode::kServiceNotActive: return {"ServiceNotActiveException", 400, e.message};
    default: return {"ServerException", 500, e.message.empty() ? "An internal error occurred." : e.message};
  }
}

JsonService makeEcsService(control::EcsContext& ctx) {
  JsonService s;
  const ServiceModel* model = ServiceModel::byTargetPrefix(kEcsTargetPrefix);
  // The model is compiled in; a missing one is a build defect, not a runtime condition.
  if (!model) std::abort();
  bindServiceModel(s, *model);
  s.mapError = ecsError;
  auto bind = [&ctx](Result<nlohmann::json> (*fn)(control::EcsContext&, const nlohmann::json&)) {
    return [&ctx, fn](const nlohmann::json& req, const SigV4Identity&) { return fn(ctx, req); };
  };
  s.operations = {
      {"CreateCluster", bind(control::createCluster)},
      {"DescribeClusters", bind(control::describeClusters)},
      {"ListClusters", bind(control::listClusters)},
      {"UpdateCluster", bind(control::updateCluster)},
      {"UpdateClusterSettings", bind(control::updateClusterSettings)},
      {"DeleteCluster", bind(control::deleteCluster)},
      {"RegisterTaskDefinition", bind(control::registerTaskDefinition)},
      {"DescribeTaskDefinition", bind(control::describeTaskDefinition)},
      {"ListTaskDefinitions", bind(control::listTaskDefinitions)},
      {"ListTaskDefinitionFamilies", bind(control::listTaskDefinitionFamilies)},
      {"DeregisterTaskDefinition", bind(control::deregisterTaskDefinition)},
      {"DeleteTaskDefinitions", bind(control::deleteTaskDefinitions)},
      {"TagResource", bind(control::tagResource)},
      {"UntagResource", bind(control::untagResource)},
      {"ListTagsForResource", bind(control::listTagsForResource)},
      {"RegisterContainerInstance", bind(control::registerContainerInstance)},
      {"DeregisterContainerInstance", bind(control::deregisterContainerInstance)},
      {"DescribeContainerInstances", bind(control::describeContainerInstances)},
      {"ListContainerInstances", bind(control::listContainerInstances)},
      {"UpdateContainerInstancesState", bind(control::updateContainerInstancesState)},
      {"PutAttributes", bind(control::putAttributes)},
      {"DeleteAttributes", bind(control::deleteAttributes)},
      {"ListAttributes", bind(control::listAttributes)},
      {"RunTask", bind(control::runTask)},
      {"StartTask", bind(control::startTask)},
      {"StopTask", bind(control::stopTask)},
      {"DescribeTasks", bind(control::describeTasks)},
      {"ListTasks", bind(control::listTasks)},
      {"SubmitTaskStateChange", bind(control::submitTaskStateChange)},
      {"SubmitContainerStateChange", bind(control::submitContainerStateChange)},
      {"CreateService", bind(control::createService)},
      {"UpdateService", bind(control::updateService)},
      {"DeleteService", bind(control::deleteService)},
      {"DescribeServices", bind(control::describeServices)},
      {"ListServices", bind(control::listServices)},
  };
  return s;
}

}  // namespace berth::api
